// GGUF metadata values: reading one typed value (scalars, strings, arrays of
// any type, nested at most kGgufMaxArrayDepth deep) through a HeaderReader.
// Internal to the GGUF parser; the public side (GgufValueTypeName,
// GgufArray::Element, GgufValueToString) is declared in gguf_parser.h and
// defined in gguf_values.cc too.
//
// Thread-safety: stateless functions; the reader is the caller's.
#ifndef HALIO_SRC_IO_FORMATS_GGUF_GGUF_VALUES_H_
#define HALIO_SRC_IO_FORMATS_GGUF_GGUF_VALUES_H_

#include <string_view>

#include "halio/status.h"
#include "gguf/gguf_parser.h"
#include "gguf/gguf_reader.h"

namespace halio::gguf {

// A u32 value type; `what` names the field in the error. Errors:
// INVALID_ARGUMENT for a type GGUF does not define, the reader's errors.
Result<GgufValueType> ReadValueType(HeaderReader& reader, std::string_view what);

// A value of `type`, enclosed in `depth` arrays (0 for a metadata value).
// Errors: INVALID_ARGUMENT for bools other than 0/1, unknown element types
// and arrays nested too deep; the reader's errors for counts and lengths.
Result<GgufValue> ReadValue(HeaderReader& reader, GgufValueType type, int depth);

}  // namespace halio::gguf

#endif  // HALIO_SRC_IO_FORMATS_GGUF_GGUF_VALUES_H_
