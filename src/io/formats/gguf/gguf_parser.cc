#include "gguf/gguf_parser.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "tensor_ranges.h"

namespace halio {
namespace {

constexpr std::string_view kAlignmentKey = "general.alignment";
constexpr uint32_t kHighestValueType = static_cast<uint32_t>(GgufValueType::kFloat64);
// The smallest possible encodings, for bounding counts before reading:
// a tensor info is a name length (8), n_dims (4), a type (4) and an offset
// (8); a key/value is a key length (8), a type (4) and a 1-byte value; an
// array header is its element type (4) and count (8); a string its length.
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;
constexpr uint64_t kMinKeyValueBytes = 8 + 4 + 1;
constexpr uint64_t kMinArrayBytes = 4 + 8;
constexpr uint64_t kMinStringBytes = 8;

uint64_t LoadLittleEndian(const std::byte* bytes, size_t width) {
  uint64_t value = 0;
  for (size_t i = width; i > 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[i - 1]);
  return value;
}

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
    case GgufValueType::kFloat32: value.data = std::bit_cast<float>(static_cast<uint32_t>(bits)); break;
    case GgufValueType::kFloat64: value.data = std::bit_cast<double>(bits); break;
    case GgufValueType::kBool: value.data = bits != 0; break;
    default: value.data = bits; break;
  }
  return value;
}

// Reads little-endian fields from `bytes`, the first bytes of a file of
// `file_length` bytes, checking every read against the file first (a
// truncated or lying file) and then against the prefix (read more).
class HeaderReader {
 public:
  HeaderReader(std::span<const std::byte> bytes, uint64_t file_length,
               std::string_view file_name)
      : bytes_(bytes.first(std::min<uint64_t>(bytes.size(), file_length))),
        file_length_(file_length),
        file_name_(file_name) {}

  uint64_t position() const { return position_; }
  uint64_t bytes_needed() const { return bytes_needed_; }
  uint64_t file_length() const { return file_length_; }
  std::string_view file_name() const { return file_name_; }
  // What is being read, for messages: "metadata key 'general.name'".
  void set_context(std::string context) { context_ = std::move(context); }

  std::string Prefix() const {
    return std::string(file_name_) + (context_.empty() ? "" : ": " + context_);
  }
  Status Invalid(std::string_view problem) const {
    return InvalidArgumentError(Prefix() + ": " + std::string(problem));
  }
  Status OutOfRange(std::string_view problem) const {
    return OutOfRangeError(Prefix() + ": " + std::string(problem));
  }

  // Checks that `count` more bytes exist in the file and in the prefix.
  Status Need(uint64_t count, std::string_view what) {
    if (count > file_length_ - position_) {
      return OutOfRange(std::string(what) + " at offset " + std::to_string(position_) +
                        " needs " + std::to_string(count) + " bytes, but the file ends at " +
                        std::to_string(file_length_) + "; the file is truncated or corrupt");
    }
    return NeedInPrefix(position_ + count);
  }

  // Checks a claimed element count against the bytes left before anything
  // is allocated for it: each element takes at least `min_bytes`.
  Status CheckCount(uint64_t count, uint64_t min_bytes, std::string_view what) {
    const uint64_t remaining = file_length_ - position_;
    if (count > remaining / min_bytes) {
      return Invalid(std::string(what) + " " + std::to_string(count) + " needs at least " +
                     std::to_string(min_bytes) + " bytes each, but only " +
                     std::to_string(remaining) + " bytes remain in the file");
    }
    return NeedInPrefix(position_ + count * min_bytes);
  }

  Result<std::span<const std::byte>> Take(uint64_t count, std::string_view what) {
    HALIO_RETURN_IF_ERROR(Need(count, what));
    std::span<const std::byte> taken = bytes_.subspan(position_, count);
    position_ += count;
    return taken;
  }

  template <typename T>
  Result<T> Read(std::string_view what) {
    HALIO_ASSIGN_OR_RETURN(std::span<const std::byte> bytes, Take(sizeof(T), what));
    return static_cast<T>(LoadLittleEndian(bytes.data(), sizeof(T)));
  }

  Result<std::string> ReadString(std::string_view what) {
    HALIO_ASSIGN_OR_RETURN(uint64_t length, Read<uint64_t>(what));
    HALIO_ASSIGN_OR_RETURN(std::span<const std::byte> bytes, Take(length, what));
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }

 private:
  Status NeedInPrefix(uint64_t end) {
    if (end <= bytes_.size()) return Status::Ok();
    bytes_needed_ = end;
    return OutOfRange("the GGUF header continues past the first " +
                      std::to_string(bytes_.size()) + " bytes given; read at least " +
                      std::to_string(end) + " bytes of the file");
  }

  std::span<const std::byte> bytes_;
  uint64_t file_length_;
  std::string_view file_name_;
  uint64_t position_ = 0;
  uint64_t bytes_needed_ = 0;
  std::string context_;
};

Result<GgufValueType> ReadValueType(HeaderReader& reader, std::string_view what) {
  HALIO_ASSIGN_OR_RETURN(uint32_t type, reader.Read<uint32_t>(what));
  if (type > kHighestValueType) {
    return reader.Invalid("unknown " + std::string(what) + " " + std::to_string(type) +
                          " (GGUF defines 0..12)");
  }
  return static_cast<GgufValueType>(type);
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

Result<GgufValue> ReadValue(HeaderReader& reader, GgufValueType type, int depth);

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

Status CheckVersion(const HeaderReader& reader, uint32_t version) {
  if (version == 2 || version == 3) return Status::Ok();
  if (version == 1) {
    return reader.Invalid(
        "GGUF version 1 is not supported (it used 32-bit counts and lengths); convert the "
        "file with a current gguf writer");
  }
  const uint32_t swapped = __builtin_bswap32(version);
  if (swapped == 2 || swapped == 3) {
    return reader.Invalid("big-endian GGUF (version field reads " + std::to_string(version) +
                          ") is not supported; convert the file to little-endian");
  }
  return reader.Invalid("GGUF version " + std::to_string(version) +
                        " is not supported (this reader knows versions 2 and 3)");
}

Status ReadPreamble(HeaderReader& reader, GgufFile& file) {
  if (reader.file_length() < 4) {
    return reader.Invalid(std::to_string(reader.file_length()) +
                          " bytes is too short for a GGUF file");
  }
  HALIO_ASSIGN_OR_RETURN(std::span<const std::byte> magic, reader.Take(4, "magic"));
  if (std::memcmp(magic.data(), "GGUF", 4) != 0) {
    return reader.Invalid("not a GGUF file: the first 4 bytes are not \"GGUF\"");
  }
  HALIO_ASSIGN_OR_RETURN(file.version, reader.Read<uint32_t>("version"));
  return CheckVersion(reader, file.version);
}

// A repeated key is kept once when its value repeats too (see the header).
Status AddMetadata(const HeaderReader& reader, std::unordered_map<std::string, size_t>& keys,
                   GgufMetadataEntry entry, GgufFile& file) {
  const auto [it, inserted] = keys.emplace(entry.key, file.metadata.size());
  if (inserted) {
    file.metadata.push_back(std::move(entry));
    return Status::Ok();
  }
  if (file.metadata[it->second].value == entry.value) return Status::Ok();
  return reader.Invalid("appears twice with different values; keys must be unique");
}

Status ReadMetadata(HeaderReader& reader, uint64_t count, GgufFile& file) {
  std::unordered_map<std::string, size_t> keys;
  for (uint64_t i = 0; i < count; ++i) {
    reader.set_context("metadata key #" + std::to_string(i));
    GgufMetadataEntry entry;
    HALIO_ASSIGN_OR_RETURN(entry.key, reader.ReadString("key"));
    if (entry.key.size() > kGgufMaxKeyLength) {
      return reader.Invalid("key of " + std::to_string(entry.key.size()) +
                            " bytes is longer than the 65535 GGUF allows");
    }
    reader.set_context("metadata key '" + entry.key + "'");
    HALIO_ASSIGN_OR_RETURN(GgufValueType type, ReadValueType(reader, "value type"));
    HALIO_ASSIGN_OR_RETURN(entry.value, ReadValue(reader, type, 0));
    HALIO_RETURN_IF_ERROR(AddMetadata(reader, keys, std::move(entry), file));
  }
  return Status::Ok();
}

Status ReadAlignment(HeaderReader& reader, GgufFile& file) {
  const GgufValue* value = file.FindMetadata(kAlignmentKey);
  if (value == nullptr) return Status::Ok();
  reader.set_context("metadata key '" + std::string(kAlignmentKey) + "'");
  if (value->type != GgufValueType::kUint32) {
    return reader.Invalid("must be a uint32, not " +
                          std::string(GgufValueTypeName(value->type)));
  }
  const uint64_t alignment = std::get<uint64_t>(value->data);
  if (!std::has_single_bit(alignment)) {
    return reader.Invalid(std::to_string(alignment) + " is not a non-zero power of two");
  }
  file.alignment = static_cast<uint32_t>(alignment);
  return Status::Ok();
}

// ggml sizes: the innermost dimension in whole blocks, times the rest.
Result<uint64_t> TensorByteLength(const HeaderReader& reader, const GgufTensorInfo& tensor,
                                  const GgmlTypeInfo& type) {
  const uint64_t innermost = tensor.dims.empty() ? 1 : tensor.dims[0];
  if (innermost % type.block_size != 0) {
    return reader.Invalid("innermost dimension " + std::to_string(innermost) +
                          " is not a multiple of " + std::string(type.name) + "'s block of " +
                          std::to_string(type.block_size) + " elements");
  }
  const std::span<const uint64_t> outer =
      tensor.dims.empty() ? std::span<const uint64_t>() : std::span(tensor.dims).subspan(1);
  std::optional<uint64_t> rows = CheckedProduct(outer);
  uint64_t row_bytes = 0;
  uint64_t length = 0;
  if (!rows || __builtin_mul_overflow(innermost / type.block_size, type.type_size, &row_bytes) ||
      __builtin_mul_overflow(row_bytes, *rows, &length)) {
    return reader.Invalid("dims " + FormatDims(tensor.dims) + " of " + std::string(type.name) +
                          " overflow 64 bits");
  }
  return length;
}

Result<const GgmlTypeInfo*> LookUpTensorType(const HeaderReader& reader, uint32_t type) {
  const GgmlTypeInfo* info = FindGgmlType(type);
  if (info == nullptr) {
    return reader.Invalid("unknown ggml type " + std::to_string(type));
  }
  if (info->block_size == 0) {
    return reader.Invalid("ggml type " + std::to_string(type) + " (" + std::string(info->name) +
                          ") is no longer valid in GGUF files");
  }
  return info;
}

Result<GgufTensorInfo> ReadTensorInfo(HeaderReader& reader) {
  GgufTensorInfo tensor;
  HALIO_ASSIGN_OR_RETURN(tensor.name, reader.ReadString("name"));
  reader.set_context("tensor '" + tensor.name + "'");
  HALIO_ASSIGN_OR_RETURN(uint32_t n_dims, reader.Read<uint32_t>("n_dims"));
  if (n_dims > kGgufMaxDims) {
    return reader.Invalid("n_dims " + std::to_string(n_dims) + " exceeds " +
                          std::to_string(kGgufMaxDims) + " (GGML_MAX_DIMS)");
  }
  for (uint32_t i = 0; i < n_dims; ++i) {
    HALIO_ASSIGN_OR_RETURN(uint64_t dim, reader.Read<uint64_t>("dimension"));
    tensor.dims.push_back(dim);
  }
  HALIO_ASSIGN_OR_RETURN(tensor.type, reader.Read<uint32_t>("ggml type"));
  HALIO_ASSIGN_OR_RETURN(const GgmlTypeInfo* type, LookUpTensorType(reader, tensor.type));
  tensor.type_name = type->name;
  HALIO_ASSIGN_OR_RETURN(tensor.relative_offset, reader.Read<uint64_t>("offset"));
  HALIO_ASSIGN_OR_RETURN(tensor.length, TensorByteLength(reader, tensor, *type));
  return tensor;
}

Status ReadTensorInfos(HeaderReader& reader, uint64_t count, GgufFile& file) {
  std::unordered_set<std::string> names;
  for (uint64_t i = 0; i < count; ++i) {
    reader.set_context("tensor #" + std::to_string(i));
    HALIO_ASSIGN_OR_RETURN(GgufTensorInfo tensor, ReadTensorInfo(reader));
    if (!names.insert(tensor.name).second) {
      return reader.Invalid("appears twice; tensor names must be unique");
    }
    file.tensors.push_back(std::move(tensor));
  }
  return Status::Ok();
}

// Places every tensor after the aligned end of the header and checks it.
Status PlaceTensors(HeaderReader& reader, GgufFile& file) {
  reader.set_context("");
  file.header_length = reader.position();
  const uint64_t mask = file.alignment - 1;
  uint64_t padded_end = 0;
  const bool overflow = __builtin_add_overflow(file.header_length, mask, &padded_end);
  file.data_offset = padded_end & ~mask;
  if (overflow || file.data_offset > reader.file_length()) {
    return reader.OutOfRange("the data section would start at the aligned end of the header, "
                             "past the end of the file (" +
                             std::to_string(reader.file_length()) + " bytes); the file is "
                             "truncated");
  }
  std::vector<TensorRange> ranges;
  for (GgufTensorInfo& tensor : file.tensors) {
    reader.set_context("tensor '" + tensor.name + "'");
    if (tensor.relative_offset % file.alignment != 0) {
      return reader.Invalid("offset " + std::to_string(tensor.relative_offset) +
                            " is not a multiple of the alignment " +
                            std::to_string(file.alignment));
    }
    uint64_t end = 0;
    if (__builtin_add_overflow(file.data_offset, tensor.relative_offset, &tensor.offset) ||
        __builtin_add_overflow(tensor.offset, tensor.length, &end) ||
        end > reader.file_length()) {
      return reader.OutOfRange("data at offset " + std::to_string(tensor.relative_offset) +
                               " of the data section (" + std::to_string(tensor.length) +
                               " bytes) runs past the end of the file (" +
                               std::to_string(reader.file_length()) + " bytes)");
    }
    ranges.push_back({tensor.name, tensor.offset, end});
  }
  return CheckRangesDisjoint(ranges, reader.file_name());
}

Result<GgufFile> ParseWith(HeaderReader& reader) {
  GgufFile file;
  HALIO_RETURN_IF_ERROR(ReadPreamble(reader, file));
  HALIO_ASSIGN_OR_RETURN(uint64_t tensor_count, reader.Read<uint64_t>("tensor count"));
  HALIO_ASSIGN_OR_RETURN(uint64_t kv_count, reader.Read<uint64_t>("metadata count"));
  HALIO_RETURN_IF_ERROR(reader.CheckCount(kv_count, kMinKeyValueBytes, "metadata count"));
  HALIO_RETURN_IF_ERROR(reader.CheckCount(tensor_count, kMinTensorInfoBytes, "tensor count"));
  HALIO_RETURN_IF_ERROR(ReadMetadata(reader, kv_count, file));
  HALIO_RETURN_IF_ERROR(ReadAlignment(reader, file));
  HALIO_RETURN_IF_ERROR(ReadTensorInfos(reader, tensor_count, file));
  HALIO_RETURN_IF_ERROR(PlaceTensors(reader, file));
  return file;
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

const GgufValue* GgufFile::FindMetadata(std::string_view key) const {
  for (const GgufMetadataEntry& entry : metadata) {
    if (entry.key == key) return &entry.value;
  }
  return nullptr;
}

std::string GgufValueToString(const GgufValue& value, size_t max_array_elements) {
  std::string out;
  AppendValue(out, value, max_array_elements, /*quoted=*/false);
  return out;
}

Result<GgufFile> ParseGgufHeader(std::span<const std::byte> bytes, uint64_t file_length,
                                 std::string_view file_name, uint64_t* bytes_needed) {
  HeaderReader reader(bytes, file_length, file_name);
  Result<GgufFile> file = ParseWith(reader);
  if (bytes_needed != nullptr) *bytes_needed = file.ok() ? 0 : reader.bytes_needed();
  return file;
}

}  // namespace halio
