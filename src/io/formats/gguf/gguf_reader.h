// HeaderReader: the GGUF parser's bounds-checked little-endian reader over
// the first bytes of a file. Internal to the GGUF parser (gguf_parser.cc,
// gguf_values.cc).
//
// Every read is checked against the file's length first (a truncated or
// lying file: OUT_OF_RANGE naming the offset and the file's end) and then
// against the prefix given (OUT_OF_RANGE saying how much to read, recorded
// in bytes_needed()). Counts are checked against the bytes left before the
// caller allocates anything for them (INVALID_ARGUMENT). Messages start with
// the file name and the current context ("metadata key 'general.name'").
//
// Ownership: borrows the bytes and the file name, which must outlive it.
// Thread-safety: none; one parse owns one reader.
#ifndef HALIO_SRC_IO_FORMATS_GGUF_GGUF_READER_H_
#define HALIO_SRC_IO_FORMATS_GGUF_GGUF_READER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "halio/status.h"
#include "little_endian.h"

namespace halio::gguf {

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

}  // namespace halio::gguf

#endif  // HALIO_SRC_IO_FORMATS_GGUF_GGUF_READER_H_
