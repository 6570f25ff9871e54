// JSON helpers for the parameter-file parsers (safetensors headers and
// sharded-checkpoint indexes), on simdjson's DOM API.
//
// The DOM API validates the whole document (structure, UTF-8, numbers)
// before anything is read from it, so a value a parser does not look at
// cannot hide malformed JSON. simdjson keeps every member of an object,
// duplicates included, and says nothing about them: the parsers call
// CheckNoDuplicateKeys themselves. simdjson stays out of public headers.
//
// Input is untrusted. Errors are INVALID_ARGUMENT naming the file and the
// key; RESOURCE_EXHAUSTED only when memory for the document cannot be had.
//
// Thread-safety: a dom::parser and the elements it returned belong to one
// thread at a time; the functions here keep no state.
#ifndef HALIO_SRC_IO_FORMATS_JSON_DOCUMENT_H_
#define HALIO_SRC_IO_FORMATS_JSON_DOCUMENT_H_

#include <simdjson.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "halio/status.h"
#include "string_map.h"

namespace halio {

// Parses `bytes` (copied into simdjson's padded buffer) with `parser`; the
// element lives as long as the parser's next parse. `what` names the
// document in messages ("header"). Errors: INVALID_ARGUMENT ("<file>:
// header is not valid JSON: <reason>"), RESOURCE_EXHAUSTED.
Result<simdjson::dom::element> ParseJsonDocument(simdjson::dom::parser& parser,
                                                 std::span<const std::byte> bytes,
                                                 std::string_view file_name,
                                                 std::string_view what);

// The element as an object. Errors: INVALID_ARGUMENT "<file>: <what> must
// be a JSON object, not <type>".
Result<simdjson::dom::object> AsObject(simdjson::dom::element element,
                                       std::string_view file_name, std::string_view what);

// Fails with INVALID_ARGUMENT naming the key when `object` has it twice:
// JSON leaves duplicates undefined and readers disagree on which one wins.
Status CheckNoDuplicateKeys(simdjson::dom::object object, std::string_view file_name,
                            std::string_view what);

// An object whose values are all strings, as a map. Errors:
// INVALID_ARGUMENT naming the key whose value is not a string, or a
// duplicate key.
Result<StringMap> ReadStringMap(simdjson::dom::element element, std::string_view file_name,
                                std::string_view what);

// A JSON type's name for messages ("array", "string", ...).
std::string_view JsonTypeName(simdjson::dom::element_type type);

}  // namespace halio

#endif  // HALIO_SRC_IO_FORMATS_JSON_DOCUMENT_H_
