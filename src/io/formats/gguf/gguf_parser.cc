// The GGUF header: preamble, metadata key/values, alignment, tensor infos
// and where each tensor lies. Values are read in gguf_values.cc, through the
// bounds-checked reader of gguf_reader.h.
#include "gguf/gguf_parser.h"

#include <bit>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "gguf/gguf_reader.h"
#include "gguf/gguf_values.h"
#include "tensor_ranges.h"

namespace halio {
namespace {

using gguf::HeaderReader;
using gguf::ReadValue;
using gguf::ReadValueType;

constexpr std::string_view kAlignmentKey = "general.alignment";
// The smallest possible encodings, for bounding counts before reading:
// a tensor info is a name length (8), n_dims (4), a type (4) and an offset
// (8); a key/value is a key length (8), a type (4) and a 1-byte value.
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;
constexpr uint64_t kMinKeyValueBytes = 8 + 4 + 1;

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

}  // namespace

const GgufValue* GgufFile::FindMetadata(std::string_view key) const {
  for (const GgufMetadataEntry& entry : metadata) {
    if (entry.key == key) return &entry.value;
  }
  return nullptr;
}


Result<GgufFile> ParseGgufHeader(std::span<const std::byte> bytes, uint64_t file_length,
                                 std::string_view file_name, uint64_t* bytes_needed) {
  HeaderReader reader(bytes, file_length, file_name);
  Result<GgufFile> file = ParseWith(reader);
  if (bytes_needed != nullptr) *bytes_needed = file.ok() ? 0 : reader.bytes_needed();
  return file;
}

}  // namespace halio
