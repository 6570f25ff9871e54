// What the fault_fs FUSE server serves, shared by the server and the tests so
// both compute the same bytes (the server does not link halio).
//
// Every file's byte i is a hash of i and the file's seed: deterministic, and
// a byte read from the wrong offset or the wrong file shows. Each file has a
// behavior: healthy (through the page cache), or a fault served with
// direct_io so the kernel hands the server's short counts and errors to
// pread instead of hiding them behind the page cache.
#ifndef HALIO_TESTS_FAULTS_REAL_FAULT_FS_LAYOUT_H_
#define HALIO_TESTS_FAULTS_REAL_FAULT_FS_LAYOUT_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace halio::faultfs {

enum class Behavior {
  kHealthy,  // page cache, every read served whole
  kShort,    // direct_io, at most kShortReadBytes per read call
  kSlow,     // direct_io, each read call sleeps kSlowReadMillis
  kEio,      // direct_io, reads overlapping the file's EIO range fail with EIO
};

enum class Content { kPattern, kSafetensors };

struct FileSpec {
  const char* name;
  Content content;
  Behavior behavior;
  uint32_t seed;
};

// 1000: not a divisor of any page or chunk size, so every chunk boundary
// lands mid-reply.
inline constexpr uint32_t kShortReadBytes = 1000;
// A few ms per call: reads stay in flight long enough to overlap, and the
// ~1 MiB files (a few dozen kernel requests each) still read in well under a
// second.
inline constexpr uint32_t kSlowReadMillis = 3;

// Pattern files: an odd size, so the last chunk is partial.
inline constexpr uint64_t kPatternFileSize = (uint64_t{1} << 20) + 123;
// The EIO range of eio.bin: inside the file, away from both ends, and not
// aligned to pages (the kernel's requests straddle it).
inline constexpr uint64_t kPatternEioBegin = 300000;
inline constexpr uint64_t kPatternEioEnd = 304000;

inline constexpr FileSpec kFiles[] = {
    {"healthy.bin", Content::kPattern, Behavior::kHealthy, 1},
    {"short.bin", Content::kPattern, Behavior::kShort, 2},
    {"slow.bin", Content::kPattern, Behavior::kSlow, 3},
    {"eio.bin", Content::kPattern, Behavior::kEio, 4},
    {"model.safetensors", Content::kSafetensors, Behavior::kHealthy, 5},
    {"model_short.safetensors", Content::kSafetensors, Behavior::kShort, 5},
    {"model_slow.safetensors", Content::kSafetensors, Behavior::kSlow, 5},
    {"model_eio.safetensors", Content::kSafetensors, Behavior::kEio, 5},
};

inline const FileSpec* FindFile(std::string_view name) {
  for (const FileSpec& spec : kFiles) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

// splitmix64's finalizer: every input bit moves every output bit.
inline uint8_t HashByte(uint64_t index, uint32_t seed) {
  uint64_t x = index + uint64_t{seed} * 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return static_cast<uint8_t>(x ^ (x >> 31));
}

// --- the safetensors model ---------------------------------------------------

struct TensorSpec {
  const char* name;
  uint64_t bytes;  // dtype U8, shape [bytes]
};

// Sizes not multiples of pages or of 1000, so tensor edges fall anywhere.
inline constexpr TensorSpec kTensors[] = {
    {"embed", 100003}, {"layer.0.w", 200001}, {"layer.1.w", 300007},
    {"layer.2.w", 250009}, {"head", 7001},
};
// The tensor model_eio.safetensors damages, and where (relative to the
// tensor's first byte).
inline constexpr const char* kEioTensor = "layer.2.w";
inline constexpr uint64_t kEioTensorOffset = 1000;
inline constexpr uint64_t kEioTensorLength = 3000;

// The 8-byte length and the JSON header of a file holding `tensors` back to
// back, padded to 8 bytes as the safetensors writer does.
inline std::string SafetensorsPrefix(std::span<const TensorSpec> tensors) {
  std::string header = "{";
  uint64_t offset = 0;
  for (const TensorSpec& tensor : tensors) {
    if (offset != 0) header += ",";
    header += "\"" + std::string(tensor.name) + "\":{\"dtype\":\"U8\",\"shape\":[" +
              std::to_string(tensor.bytes) + "],\"data_offsets\":[" + std::to_string(offset) +
              "," + std::to_string(offset + tensor.bytes) + "]}";
    offset += tensor.bytes;
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';
  std::string prefix(8, '\0');
  uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>(length >> (8 * i));  // little-endian
  return prefix + header;
}

// The prefix of the served model files.
inline std::string SafetensorsPrefix() { return SafetensorsPrefix(kTensors); }

inline uint64_t SafetensorsDataBytes() {
  uint64_t total = 0;
  for (const TensorSpec& tensor : kTensors) total += tensor.bytes;
  return total;
}

// File offset of a tensor's first byte, or UINT64_MAX for an unknown name.
inline uint64_t TensorFileOffset(std::string_view name) {
  uint64_t offset = SafetensorsPrefix().size();
  for (const TensorSpec& tensor : kTensors) {
    if (name == tensor.name) return offset;
    offset += tensor.bytes;
  }
  return UINT64_MAX;
}

inline uint64_t TensorBytes(std::string_view name) {
  for (const TensorSpec& tensor : kTensors) {
    if (name == tensor.name) return tensor.bytes;
  }
  return 0;
}

// --- per file ------------------------------------------------------------------

inline uint64_t FileSize(const FileSpec& spec) {
  if (spec.content == Content::kPattern) return kPatternFileSize;
  return SafetensorsPrefix().size() + SafetensorsDataBytes();
}

struct Range {
  uint64_t begin = 0;
  uint64_t end = 0;
};

// Where reads fail with EIO; empty for files that are not kEio.
inline Range EioRange(const FileSpec& spec) {
  if (spec.behavior != Behavior::kEio) return {};
  if (spec.content == Content::kPattern) return {kPatternEioBegin, kPatternEioEnd};
  const uint64_t begin = TensorFileOffset(kEioTensor) + kEioTensorOffset;
  return {begin, begin + kEioTensorLength};
}

// Fills `out` with the file's bytes [offset, offset + out.size()); the caller
// keeps the range inside the file.
inline void FillBytes(const FileSpec& spec, uint64_t offset, uint8_t* out, size_t length) {
  if (spec.content == Content::kPattern) {
    for (size_t i = 0; i < length; ++i) out[i] = HashByte(offset + i, spec.seed);
    return;
  }
  static const std::string prefix = SafetensorsPrefix();
  for (size_t i = 0; i < length; ++i) {
    const uint64_t position = offset + i;
    // Tensor data bytes hash their offset from the data start, as a
    // safetensors reader sees them.
    out[i] = position < prefix.size() ? static_cast<uint8_t>(prefix[position])
                                      : HashByte(position - prefix.size(), spec.seed);
  }
}

inline std::vector<uint8_t> FileBytes(const FileSpec& spec, uint64_t offset, uint64_t length) {
  std::vector<uint8_t> bytes(length);
  FillBytes(spec, offset, bytes.data(), bytes.size());
  return bytes;
}

}  // namespace halio::faultfs

#endif  // HALIO_TESTS_FAULTS_REAL_FAULT_FS_LAYOUT_H_
