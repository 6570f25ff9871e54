#include "safetensors/safetensors_parser.h"

#include <algorithm>
#include <array>

#include "json_document.h"
#include "little_endian.h"
#include "tensor_ranges.h"

namespace halio {
namespace {

struct DtypeInfo {
  SafetensorsDtype dtype;
  std::string_view name;
  uint32_t bits;
};

// Indexed by the enum value.
constexpr std::array<DtypeInfo, 22> kDtypes = {{
    {SafetensorsDtype::kBool, "BOOL", 8},
    {SafetensorsDtype::kF4, "F4", 4},
    {SafetensorsDtype::kF6E2M3, "F6_E2M3", 6},
    {SafetensorsDtype::kF6E3M2, "F6_E3M2", 6},
    {SafetensorsDtype::kU8, "U8", 8},
    {SafetensorsDtype::kI8, "I8", 8},
    {SafetensorsDtype::kF8E5M2, "F8_E5M2", 8},
    {SafetensorsDtype::kF8E4M3, "F8_E4M3", 8},
    {SafetensorsDtype::kF8E8M0, "F8_E8M0", 8},
    {SafetensorsDtype::kF8E4M3Fnuz, "F8_E4M3FNUZ", 8},
    {SafetensorsDtype::kF8E5M2Fnuz, "F8_E5M2FNUZ", 8},
    {SafetensorsDtype::kI16, "I16", 16},
    {SafetensorsDtype::kU16, "U16", 16},
    {SafetensorsDtype::kF16, "F16", 16},
    {SafetensorsDtype::kBF16, "BF16", 16},
    {SafetensorsDtype::kI32, "I32", 32},
    {SafetensorsDtype::kU32, "U32", 32},
    {SafetensorsDtype::kF32, "F32", 32},
    {SafetensorsDtype::kC64, "C64", 64},
    {SafetensorsDtype::kF64, "F64", 64},
    {SafetensorsDtype::kI64, "I64", 64},
    {SafetensorsDtype::kU64, "U64", 64},
}};

constexpr std::array<SafetensorsDtype, kDtypes.size()> MakeDtypeList() {
  std::array<SafetensorsDtype, kDtypes.size()> list{};
  for (size_t i = 0; i < kDtypes.size(); ++i) list[i] = kDtypes[i].dtype;
  return list;
}
constexpr std::array<SafetensorsDtype, kDtypes.size()> kDtypeList = MakeDtypeList();

constexpr std::string_view kMetadataKey = "__metadata__";

// What every tensor entry is checked against.
struct HeaderContext {
  std::string_view file_name;
  uint64_t data_offset;  // 8 + N
  uint64_t data_length;  // file length - (8 + N)
};

std::string TensorPrefix(std::string_view file_name, std::string_view tensor) {
  return std::string(file_name) + ": tensor '" + std::string(tensor) + "'";
}

Status TensorError(const HeaderContext& context, std::string_view tensor,
                   std::string_view problem) {
  return InvalidArgumentError(TensorPrefix(context.file_name, tensor) + ": " +
                              std::string(problem));
}

// A tensor entry's three required members, looked up once each.
struct TensorFields {
  simdjson::dom::element dtype;
  simdjson::dom::element shape;
  simdjson::dom::element data_offsets;
};

Result<TensorFields> FindTensorFields(const HeaderContext& context, std::string_view tensor,
                                      simdjson::dom::element entry) {
  const std::string what = "tensor '" + std::string(tensor) + "'";
  HALIO_ASSIGN_OR_RETURN(simdjson::dom::object object,
                         AsObject(entry, context.file_name, what));
  HALIO_RETURN_IF_ERROR(CheckNoDuplicateKeys(object, context.file_name, what));
  TensorFields fields;
  // Other members are ignored, as the reference (serde) reader does.
  for (auto [key, out] : {std::pair{"dtype", &fields.dtype}, std::pair{"shape", &fields.shape},
                          std::pair{"data_offsets", &fields.data_offsets}}) {
    if (object.at_key(key).get(*out) != simdjson::SUCCESS) {
      return TensorError(context, tensor, std::string("has no \"") + key + "\"");
    }
  }
  return fields;
}

Result<SafetensorsDtype> ReadDtype(const HeaderContext& context, std::string_view tensor,
                                   simdjson::dom::element element) {
  std::string_view name;
  if (element.get_string().get(name) != simdjson::SUCCESS) {
    return TensorError(context, tensor, "\"dtype\" must be a string, not " +
                                            std::string(JsonTypeName(element.type())));
  }
  std::optional<SafetensorsDtype> dtype = SafetensorsDtypeFromName(name);
  if (!dtype) {
    return TensorError(context, tensor, "unknown dtype \"" + std::string(name) +
                                            "\" (the safetensors spec defines BOOL, U8, "
                                            "I8, F16, BF16, F32, F64, F4, F6_*, F8_*, ...)");
  }
  return *dtype;
}

Result<std::vector<uint64_t>> ReadUintArray(const HeaderContext& context,
                                            std::string_view tensor, std::string_view field,
                                            simdjson::dom::element element) {
  simdjson::dom::array array;
  if (element.get_array().get(array) != simdjson::SUCCESS) {
    return TensorError(context, tensor, "\"" + std::string(field) +
                                            "\" must be an array of integers, not " +
                                            std::string(JsonTypeName(element.type())));
  }
  std::vector<uint64_t> values;
  values.reserve(array.size());
  for (simdjson::dom::element item : array) {
    uint64_t value = 0;
    if (item.get_uint64().get(value) != simdjson::SUCCESS) {
      return TensorError(context, tensor,
                         "\"" + std::string(field) + "\" must hold non-negative integers "
                         "below 2^64; found " + simdjson::to_string(item));
    }
    values.push_back(value);
  }
  return values;
}

// Shape x dtype bits must fill whole bytes and equal the offsets' span.
Result<uint64_t> ExpectedByteLength(const HeaderContext& context, std::string_view tensor,
                                    SafetensorsDtype dtype,
                                    const std::vector<uint64_t>& shape) {
  std::optional<uint64_t> elements = CheckedProduct(shape);
  uint64_t bits = 0;
  if (!elements ||
      __builtin_mul_overflow(*elements, uint64_t{SafetensorsDtypeBits(dtype)}, &bits)) {
    return TensorError(context, tensor, "shape " + FormatDims(shape) + " x " +
                                            std::string(SafetensorsDtypeName(dtype)) +
                                            " overflows 64 bits");
  }
  if (bits % 8 != 0) {
    return TensorError(context, tensor,
                       "shape " + FormatDims(shape) + " of " +
                           std::string(SafetensorsDtypeName(dtype)) + " is " +
                           std::to_string(bits) + " bits, not a whole number of bytes");
  }
  return bits / 8;
}

Status CheckOffsets(const HeaderContext& context, std::string_view tensor,
                    const std::vector<uint64_t>& offsets, uint64_t expected_length) {
  if (offsets.size() != 2) {
    return TensorError(context, tensor, "\"data_offsets\" must be [begin, end], got " +
                                            std::to_string(offsets.size()) + " values");
  }
  const uint64_t begin = offsets[0];
  const uint64_t end = offsets[1];
  const std::string range = "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
  if (begin > end) {
    return TensorError(context, tensor, "data_offsets " + range + " begin after they end");
  }
  if (end > context.data_length) {
    return OutOfRangeError(TensorPrefix(context.file_name, tensor) + ": data_offsets " +
                           range + " run past the end of the data section (" +
                           std::to_string(context.data_length) +
                           " bytes); the file is truncated or the header is wrong");
  }
  if (end - begin != expected_length) {
    return TensorError(context, tensor, "shape and dtype need " +
                                            std::to_string(expected_length) +
                                            " bytes but data_offsets " + range + " hold " +
                                            std::to_string(end - begin));
  }
  return Status::Ok();
}

Result<SafetensorsTensor> ParseTensor(const HeaderContext& context, std::string_view name,
                                      simdjson::dom::element entry) {
  HALIO_ASSIGN_OR_RETURN(TensorFields fields, FindTensorFields(context, name, entry));
  SafetensorsTensor tensor;
  tensor.name = std::string(name);
  HALIO_ASSIGN_OR_RETURN(tensor.dtype, ReadDtype(context, name, fields.dtype));
  tensor.dtype_name = SafetensorsDtypeName(tensor.dtype);
  HALIO_ASSIGN_OR_RETURN(tensor.shape, ReadUintArray(context, name, "shape", fields.shape));
  HALIO_ASSIGN_OR_RETURN(std::vector<uint64_t> offsets,
                         ReadUintArray(context, name, "data_offsets", fields.data_offsets));
  HALIO_ASSIGN_OR_RETURN(uint64_t expected,
                         ExpectedByteLength(context, name, tensor.dtype, tensor.shape));
  HALIO_RETURN_IF_ERROR(CheckOffsets(context, name, offsets, expected));
  // Cannot overflow: offsets[1] <= data_length and data_offset + data_length
  // is the file length.
  tensor.offset = context.data_offset + offsets[0];
  tensor.length = offsets[1] - offsets[0];
  return tensor;
}

Status CheckTensorsDisjoint(const std::vector<SafetensorsTensor>& tensors,
                            std::string_view file_name) {
  std::vector<TensorRange> ranges;
  ranges.reserve(tensors.size());
  for (const SafetensorsTensor& tensor : tensors) {
    ranges.push_back({tensor.name, tensor.offset, tensor.offset + tensor.length});
  }
  return CheckRangesDisjoint(ranges, file_name);
}

Result<SafetensorsHeader> ParseHeaderObject(simdjson::dom::object root,
                                            const HeaderContext& context) {
  HALIO_RETURN_IF_ERROR(CheckNoDuplicateKeys(root, context.file_name, "header"));
  SafetensorsHeader header;
  for (const simdjson::dom::key_value_pair field : root) {
    if (field.key == kMetadataKey) {
      HALIO_ASSIGN_OR_RETURN(header.metadata,
                             ReadStringMap(field.value, context.file_name, kMetadataKey));
      continue;
    }
    HALIO_ASSIGN_OR_RETURN(SafetensorsTensor tensor,
                           ParseTensor(context, field.key, field.value));
    header.tensors.push_back(std::move(tensor));
  }
  HALIO_RETURN_IF_ERROR(CheckTensorsDisjoint(header.tensors, context.file_name));
  std::sort(header.tensors.begin(), header.tensors.end(),
            [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
              return a.offset != b.offset ? a.offset < b.offset : a.name < b.name;
            });
  return header;
}

}  // namespace

std::string_view SafetensorsDtypeName(SafetensorsDtype dtype) {
  return kDtypes[static_cast<size_t>(dtype)].name;
}

uint32_t SafetensorsDtypeBits(SafetensorsDtype dtype) {
  return kDtypes[static_cast<size_t>(dtype)].bits;
}

std::optional<SafetensorsDtype> SafetensorsDtypeFromName(std::string_view name) {
  for (const DtypeInfo& info : kDtypes) {
    if (info.name == name) return info.dtype;
  }
  return std::nullopt;
}

std::span<const SafetensorsDtype> AllSafetensorsDtypes() { return kDtypeList; }

Result<uint64_t> ReadSafetensorsHeaderSize(std::span<const std::byte> prefix,
                                           uint64_t file_length, std::string_view file_name) {
  const std::string file(file_name);
  if (file_length < kSafetensorsPrefixSize) {
    return InvalidArgumentError(file + ": " + std::to_string(file_length) +
                                " bytes is too short for a safetensors file, which starts "
                                "with an 8-byte header size");
  }
  if (prefix.size() < kSafetensorsPrefixSize) {
    return OutOfRangeError(file + ": read the first 8 bytes (the header size) first; got " +
                           std::to_string(prefix.size()));
  }
  const uint64_t header_size = LoadLittleEndian(prefix.data(), kSafetensorsPrefixSize);
  if (header_size > kSafetensorsMaxHeaderSize) {
    return InvalidArgumentError(file + ": header size " + std::to_string(header_size) +
                                " bytes exceeds the 100 MB (100,000,000 bytes) limit "
                                "safetensors sets against hostile headers");
  }
  if (header_size > file_length - kSafetensorsPrefixSize) {
    return OutOfRangeError(file + ": header size " + std::to_string(header_size) +
                           " bytes runs past the end of the file (" +
                           std::to_string(file_length) + " bytes); the file is truncated "
                           "or not a safetensors file");
  }
  return header_size;
}

Result<SafetensorsHeader> ParseSafetensorsHeader(std::span<const std::byte> bytes,
                                                 uint64_t file_length,
                                                 std::string_view file_name) {
  HALIO_ASSIGN_OR_RETURN(uint64_t header_size,
                         ReadSafetensorsHeaderSize(bytes, file_length, file_name));
  const uint64_t data_offset = kSafetensorsPrefixSize + header_size;
  if (bytes.size() < data_offset) {
    return OutOfRangeError(std::string(file_name) + ": the header needs the first " +
                           std::to_string(data_offset) + " bytes; got " +
                           std::to_string(bytes.size()));
  }
  const HeaderContext context{file_name, data_offset, file_length - data_offset};
  simdjson::dom::parser parser;
  HALIO_ASSIGN_OR_RETURN(
      simdjson::dom::element root,
      ParseJsonDocument(parser, bytes.subspan(kSafetensorsPrefixSize, header_size), file_name,
                        "header"));
  HALIO_ASSIGN_OR_RETURN(simdjson::dom::object object, AsObject(root, file_name, "header"));
  HALIO_ASSIGN_OR_RETURN(SafetensorsHeader header, ParseHeaderObject(object, context));
  header.header_size = header_size;
  header.data_offset = data_offset;
  return header;
}

}  // namespace halio
