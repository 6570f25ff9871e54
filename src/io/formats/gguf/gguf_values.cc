// GGUF metadata values: decoding scalars from their little-endian bytes,
// reading values and arrays from the header, and their text for listings.
#include "gguf/gguf_values.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <string>

namespace halio {
namespace {

using gguf::HeaderReader;
using gguf::ReadValue;
using gguf::ReadValueType;

constexpr uint32_t kHighestValueType = static_cast<uint32_t>(GgufValueType::kFloat64);
// The smallest possible encodings, for bounding counts before reading: an
// array header is its element type (4) and count (8); a string its length.
constexpr uint64_t kMinArrayBytes = 4 + 8;
constexpr uint64_t kMinStringBytes = 8;

// Bytes of a fixed-width value, or 0 for strings and arrays.
uint32_t ScalarWidth(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kBool: return 1;
    case GgufValueType::kUint16:
    case GgufValueType::kInt16: return 2;
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kFloat32: return 4;
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
    case GgufValueType::kFloat64: return 8;
    case GgufValueType::kString:
    case GgufValueType::kArray: return 0;
  }
  return 0;
}

uint64_t MinEncodedBytes(GgufValueType type) {
  if (type == GgufValueType::kString) return kMinStringBytes;
  if (type == GgufValueType::kArray) return kMinArrayBytes;
  return ScalarWidth(type);
}

int64_t SignExtend(uint64_t bits, uint32_t width) {
  const uint32_t shift = 64 - 8 * width;
  return static_cast<int64_t>(bits << shift) >> shift;
}

// A fixed-width value from its little-endian bytes (already validated).
GgufValue DecodeScalar(GgufValueType type, const std::byte* bytes) {
  const uint32_t width = ScalarWidth(type);
  const uint64_t bits = LoadLittleEndian(bytes, width);
  GgufValue value;
  value.type = type;
  switch (type) {
    case GgufValueType::kInt8:
    case GgufValueType::kInt16:
    case GgufValueType::kInt32:
    case GgufValueType::kInt64: value.data = SignExtend(bits, width); break;
    case GgufValueType::kFloat32:
      value.data = std::bit_cast<float>(static_cast<uint32_t>(bits));
      break;
    case GgufValueType::kFloat64: value.data = std::bit_cast<double>(bits); break;
    case GgufValueType::kBool: value.data = bits != 0; break;
    default: value.data = bits; break;
  }
  return value;
}

Status CheckBools(const HeaderReader& reader, std::span<const std::byte> bytes) {
  for (std::byte byte : bytes) {
    if (static_cast<uint8_t>(byte) > 1) {
      return reader.Invalid("bool value " + std::to_string(static_cast<uint8_t>(byte)) +
                            " is neither 0 nor 1");
    }
  }
  return Status::Ok();
}

Result<GgufArray> ReadArray(HeaderReader& reader, int depth) {
  if (depth >= kGgufMaxArrayDepth) {
    return reader.Invalid("arrays nested more than " + std::to_string(kGgufMaxArrayDepth) +
                          " deep");
  }
  GgufArray array;
  HALIO_ASSIGN_OR_RETURN(array.element_type, ReadValueType(reader, "array element type"));
  HALIO_ASSIGN_OR_RETURN(array.size, reader.Read<uint64_t>("array length"));
  HALIO_RETURN_IF_ERROR(
      reader.CheckCount(array.size, MinEncodedBytes(array.element_type), "array length"));
  if (const uint32_t width = ScalarWidth(array.element_type); width != 0) {
    // CheckCount bounded size x width by the bytes left: no overflow.
    HALIO_ASSIGN_OR_RETURN(std::span<const std::byte> bytes,
                           reader.Take(array.size * width, "array elements"));
    if (array.element_type == GgufValueType::kBool) {
      HALIO_RETURN_IF_ERROR(CheckBools(reader, bytes));
    }
    array.scalars.assign(bytes.begin(), bytes.end());
    return array;
  }
  array.items.reserve(array.size);
  for (uint64_t i = 0; i < array.size; ++i) {
    HALIO_ASSIGN_OR_RETURN(GgufValue item, ReadValue(reader, array.element_type, depth + 1));
    array.items.push_back(std::move(item));
  }
  return array;
}

void AppendQuoted(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

template <typename T>
void AppendNumber(std::string& out, T number) {
  char buffer[64];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), number);
  out.append(buffer, result.ptr);
}

void AppendValue(std::string& out, const GgufValue& value, size_t max_elements, bool quoted);

void AppendArray(std::string& out, const GgufArray& array, size_t max_elements) {
  out += '[';
  const uint64_t shown = std::min<uint64_t>(array.size, max_elements);
  for (uint64_t i = 0; i < shown; ++i) {
    if (i > 0) out += ", ";
    // Strings and arrays directly: Element() would copy them.
    AppendValue(out, array.items.empty() ? array.Element(i) : array.items[i], max_elements,
                /*quoted=*/true);
  }
  if (shown < array.size) out += ", ... (" + std::to_string(array.size) + " elements)";
  out += ']';
}

void AppendValue(std::string& out, const GgufValue& value, size_t max_elements, bool quoted) {
  std::visit(
      [&](const auto& data) {
        using T = std::decay_t<decltype(data)>;
        if constexpr (std::is_same_v<T, bool>) {
          out += data ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string>) {
          quoted ? AppendQuoted(out, data) : void(out += data);
        } else if constexpr (std::is_same_v<T, GgufArray>) {
          AppendArray(out, data, max_elements);
        } else {
          AppendNumber(out, data);
        }
      },
      value.data);
}

}  // namespace

namespace gguf {

Result<GgufValueType> ReadValueType(HeaderReader& reader, std::string_view what) {
  HALIO_ASSIGN_OR_RETURN(uint32_t type, reader.Read<uint32_t>(what));
  if (type > kHighestValueType) {
    return reader.Invalid("unknown " + std::string(what) + " " + std::to_string(type) +
                          " (GGUF defines 0..12)");
  }
  return static_cast<GgufValueType>(type);
}

Result<GgufValue> ReadValue(HeaderReader& reader, GgufValueType type, int depth) {
  GgufValue value;
  value.type = type;
  if (type == GgufValueType::kString) {
    HALIO_ASSIGN_OR_RETURN(std::string text, reader.ReadString("string value"));
    value.data = std::move(text);
    return value;
  }
  if (type == GgufValueType::kArray) {
    HALIO_ASSIGN_OR_RETURN(GgufArray array, ReadArray(reader, depth));
    value.data = std::move(array);
    return value;
  }
  HALIO_ASSIGN_OR_RETURN(std::span<const std::byte> bytes,
                         reader.Take(ScalarWidth(type), GgufValueTypeName(type)));
  if (type == GgufValueType::kBool) HALIO_RETURN_IF_ERROR(CheckBools(reader, bytes));
  return DecodeScalar(type, bytes.data());
}

}  // namespace gguf

std::string_view GgufValueTypeName(GgufValueType type) {
  static constexpr std::string_view kNames[] = {
      "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
      "bool",  "string", "array", "uint64", "int64", "float64"};
  const auto index = static_cast<uint32_t>(type);
  return index <= kHighestValueType ? kNames[index] : "unknown";
}

GgufValue GgufArray::Element(uint64_t index) const {
  if (const uint32_t width = ScalarWidth(element_type); width != 0) {
    return DecodeScalar(element_type, scalars.data() + index * width);
  }
  return items[index];
}

std::string GgufValueToString(const GgufValue& value, size_t max_array_elements) {
  std::string out;
  AppendValue(out, value, max_array_elements, /*quoted=*/false);
  return out;
}

}  // namespace halio
