#include "json_document.h"

#include <unordered_set>

namespace halio {
namespace {

std::string Prefix(std::string_view file_name, std::string_view what) {
  return std::string(file_name) + ": " + std::string(what);
}

}  // namespace

Result<simdjson::dom::element> ParseJsonDocument(simdjson::dom::parser& parser,
                                                 std::span<const std::byte> bytes,
                                                 std::string_view file_name,
                                                 std::string_view what) {
  simdjson::dom::element root;
  // realloc_if_needed: the caller's bytes lack simdjson's 64 readable bytes
  // of padding, so simdjson copies them into a padded buffer first.
  const simdjson::error_code error =
      parser.parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), true)
          .get(root);
  if (error == simdjson::MEMALLOC) {
    return ResourceExhaustedError(Prefix(file_name, what) + ": no memory to parse " +
                                  std::to_string(bytes.size()) + " bytes of JSON");
  }
  if (error != simdjson::SUCCESS) {
    return InvalidArgumentError(Prefix(file_name, what) + " is not valid JSON: " +
                                simdjson::error_message(error));
  }
  return root;
}

Result<simdjson::dom::object> AsObject(simdjson::dom::element element,
                                       std::string_view file_name, std::string_view what) {
  simdjson::dom::object object;
  if (element.get_object().get(object) != simdjson::SUCCESS) {
    return InvalidArgumentError(Prefix(file_name, what) + " must be a JSON object, not " +
                                std::string(JsonTypeName(element.type())));
  }
  return object;
}

Status CheckNoDuplicateKeys(simdjson::dom::object object, std::string_view file_name,
                            std::string_view what) {
  // Keys point into the parser's string buffer, alive as long as `object`.
  std::unordered_set<std::string_view> seen;
  seen.reserve(object.size());
  for (const simdjson::dom::key_value_pair field : object) {
    if (!seen.insert(field.key).second) {
      return InvalidArgumentError(Prefix(file_name, what) + " has the key '" +
                                  std::string(field.key) +
                                  "' twice; keys must be unique");
    }
  }
  return Status::Ok();
}

Result<StringMap> ReadStringMap(simdjson::dom::element element, std::string_view file_name,
                                std::string_view what) {
  HALIO_ASSIGN_OR_RETURN(simdjson::dom::object object, AsObject(element, file_name, what));
  HALIO_RETURN_IF_ERROR(CheckNoDuplicateKeys(object, file_name, what));
  StringMap map;
  for (const simdjson::dom::key_value_pair field : object) {
    std::string_view value;
    if (field.value.get_string().get(value) != simdjson::SUCCESS) {
      return InvalidArgumentError(Prefix(file_name, what) + ": the value of '" +
                                  std::string(field.key) + "' must be a string, not " +
                                  std::string(JsonTypeName(field.value.type())));
    }
    map.emplace(std::string(field.key), std::string(value));
  }
  return map;
}

std::string_view JsonTypeName(simdjson::dom::element_type type) {
  using Type = simdjson::dom::element_type;
  switch (type) {
    case Type::ARRAY: return "an array";
    case Type::OBJECT: return "an object";
    case Type::INT64:
    case Type::UINT64: return "an integer";
    case Type::DOUBLE: return "a floating-point number";
    case Type::STRING: return "a string";
    case Type::BOOL: return "a boolean";
    case Type::NULL_VALUE: return "null";
  }
  return "an unknown JSON type";
}

}  // namespace halio
