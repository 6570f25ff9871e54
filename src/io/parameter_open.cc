// OpenParameterIndex: reads parameter-file headers through FdFile (with
// synchronous I/O: a few small header reads do not need an async engine),
// or RemoteFile for an http(s):// or s3:// URL, and indexes them. A sharded
// index's shard names resolve relative to the index's path or URL.
//
// Which format a file is, decided before any format's own checks so that a
// file of neither is told so rather than given one parser's complaint:
//  - a sharded safetensors set: the path ends in ".json" (the index, e.g.
//    model.safetensors.index.json);
//  - GGUF: the file starts with the magic "GGUF", or the path ends in ".gguf";
//  - safetensors: the path ends in ".safetensors", or the file starts like
//    one: an 8-byte little-endian header size N with 2 <= N <= 100 MB (the
//    format's limit), then '{' (the format requires the JSON header to start
//    so);
//  - anything else: INVALID_ARGUMENT "not a recognised parameter file",
//    listing the formats.
// A name or content that claims a format gets that format's own errors, so a
// truncated .gguf or a safetensors header that runs past the end of the file
// says what is wrong with it.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>

#include "halio/file.h"
#include "halio/params.h"
#include "halio/remote_file.h"
#include "fd_transfer.h"
#include "little_endian.h"
#include "safetensors/safetensors_index.h"
#include "parameter_index.h"

namespace halio {
namespace {

// The first GGUF read: most headers (tokenizers included) fit in a few MB;
// a longer one is read again with the prefix the parser asks for.
constexpr uint64_t kInitialGgufPrefix = uint64_t{4} << 20;

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// A parameter file's header bytes: through FdFile for a path, through
// RemoteFile (a few ranged GETs) for an http(s):// or s3:// URL.
class HeaderFile {
 public:
  static Result<HeaderFile> Open(const std::string& path, const RemoteFileOptions& remote) {
    if (RemoteFile::IsRemoteUrl(path)) {
      HALIO_ASSIGN_OR_RETURN(FileRef file, RemoteFile::Open(path, remote));
      return HeaderFile(std::move(file));
    }
    FdFileOptions options;
    options.backend = IoBackend::kSync;
    HALIO_ASSIGN_OR_RETURN(FileRef file, FdFile::Open(path, OpenMode::kRead, options));
    return HeaderFile(std::move(file));
  }

  uint64_t length() const { return file_->length(); }

  // Grows `bytes` to `size` bytes of the file, reading only what is new.
  Status ReadPrefix(std::vector<std::byte>& bytes, uint64_t size) {
    const uint64_t have = bytes.size();
    if (size <= have) return Status::Ok();
    bytes.resize(size);
    const std::span<std::byte> wanted = std::span(bytes).subspan(have);
    if (FdFile* fd_file = FdTransfer::Of(*file_)) {
      return FdTransfer::ReadBytes(*fd_file, have, wanted);
    }
    return static_cast<RemoteFile&>(*file_).ReadBytes(have, wanted);
  }

 private:
  explicit HeaderFile(FileRef file) : file_(std::move(file)) {}
  FileRef file_;  // an FdFile or a RemoteFile
};

// `bytes`: what was already read from the start of the file (ReadPrefix
// reads only what is missing).
Result<IndexedFile> ReadSafetensors(HeaderFile& file, std::vector<std::byte> bytes,
                                    const std::string& path) {
  HALIO_RETURN_IF_ERROR(
      file.ReadPrefix(bytes, std::min(file.length(), kSafetensorsPrefixSize)));
  HALIO_ASSIGN_OR_RETURN(uint64_t header_size,
                         ReadSafetensorsHeaderSize(bytes, file.length(), path));
  HALIO_RETURN_IF_ERROR(file.ReadPrefix(bytes, kSafetensorsPrefixSize + header_size));
  HALIO_ASSIGN_OR_RETURN(SafetensorsHeader header,
                         ParseSafetensorsHeader(bytes, file.length(), path));
  return IndexSafetensors(header, path, file.length());
}

Result<IndexedFile> ReadGguf(HeaderFile& file, std::vector<std::byte> bytes,
                             const std::string& path) {
  uint64_t size = std::min(file.length(), kInitialGgufPrefix);
  while (true) {
    HALIO_RETURN_IF_ERROR(file.ReadPrefix(bytes, size));
    uint64_t needed = 0;
    Result<GgufFile> gguf = ParseGgufHeader(bytes, file.length(), path, &needed);
    if (gguf.ok()) return IndexGguf(*gguf, path, file.length());
    if (needed == 0) return gguf.status();
    if (needed > kGgufMaxHeaderBytes) {
      return InvalidArgumentError(path + ": the GGUF header needs more than " +
                                  std::to_string(kGgufMaxHeaderBytes) +
                                  " bytes; refusing to read a header that large");
    }
    // Doubling bounds the re-parses to a logarithmic number.
    size = std::min(file.length(), std::max(needed, 2 * size));
  }
}

enum class Format { kGguf, kSafetensors, kUnrecognised };

// Enough of the file to tell the formats apart: a safetensors header size
// and the '{' after it.
constexpr uint64_t kSniffBytes = kSafetensorsPrefixSize + 1;

bool StartsLikeSafetensors(std::span<const std::byte> prefix) {
  if (prefix.size() < kSniffBytes) return false;
  const uint64_t header_size = LoadLittleEndian(prefix.data(), kSafetensorsPrefixSize);
  return header_size >= 2 && header_size <= kSafetensorsMaxHeaderSize &&
         prefix[kSafetensorsPrefixSize] == std::byte{'{'};
}

// The rule in the comment at the top of this file.
Format Recognise(std::span<const std::byte> prefix, const std::string& path) {
  const bool gguf_magic = prefix.size() >= 4 && std::memcmp(prefix.data(), "GGUF", 4) == 0;
  if (gguf_magic || EndsWith(path, ".gguf")) return Format::kGguf;
  if (EndsWith(path, ".safetensors") || StartsLikeSafetensors(prefix)) {
    return Format::kSafetensors;
  }
  return Format::kUnrecognised;
}

Status UnrecognisedError(const std::string& path, uint64_t length) {
  return InvalidArgumentError(
      path + ": not a recognised parameter file; halio reads safetensors (*.safetensors), "
      "sharded safetensors (an index named *.safetensors.index.json) and GGUF (*.gguf), and "
      "this file (" + std::to_string(length) + " bytes) starts with neither GGUF's magic "
      "\"GGUF\" nor a safetensors header (an 8-byte little-endian header size, then '{')");
}

Result<IndexedFile> ReadParameterFile(const std::string& path,
                                      const RemoteFileOptions& remote) {
  HALIO_ASSIGN_OR_RETURN(HeaderFile file, HeaderFile::Open(path, remote));
  std::vector<std::byte> prefix;
  HALIO_RETURN_IF_ERROR(file.ReadPrefix(prefix, std::min(file.length(), kSniffBytes)));
  switch (Recognise(prefix, path)) {
    case Format::kGguf: return ReadGguf(file, std::move(prefix), path);
    case Format::kSafetensors: return ReadSafetensors(file, std::move(prefix), path);
    case Format::kUnrecognised: break;
  }
  return UnrecognisedError(path, file.length());
}

Result<SafetensorsShardIndex> ReadShardIndex(const std::string& path,
                                             const RemoteFileOptions& remote) {
  HALIO_ASSIGN_OR_RETURN(HeaderFile file, HeaderFile::Open(path, remote));
  if (file.length() > kSafetensorsMaxIndexSize) {
    return InvalidArgumentError(path + ": " + std::to_string(file.length()) +
                                " bytes exceeds the 100 MB limit for an index file");
  }
  std::vector<std::byte> bytes;
  HALIO_RETURN_IF_ERROR(file.ReadPrefix(bytes, file.length()));
  return ParseSafetensorsIndex(bytes, path);
}

// Every tensor of shard `shard` that the index lists must be listed there.
Status CheckShardAgainstIndex(const SafetensorsShardIndex& shards, size_t shard,
                              const IndexedFile& indexed, const std::string& index_path) {
  for (const ParameterEntry& entry : indexed.entries) {
    const auto it = shards.tensor_shard.find(entry.name);
    if (it != shards.tensor_shard.end() && it->second != shard) {
      return InvalidArgumentError(index_path + ": tensor '" + entry.name + "' is listed in " +
                                  shards.shards[it->second] + " but found in " +
                                  shards.shards[shard]);
    }
  }
  return Status::Ok();
}

Status CheckIndexComplete(const SafetensorsShardIndex& shards, const ParameterIndex& index,
                          const std::string& index_path) {
  for (const auto& [tensor, shard] : shards.tensor_shard) {
    if (index.Find(tensor) == nullptr) {
      return InvalidArgumentError(index_path + ": tensor '" + tensor +
                                  "' is listed in weight_map but missing from its shard " +
                                  shards.shards[shard]);
    }
  }
  return Status::Ok();
}

Result<ParameterIndex> OpenShardedIndex(const std::string& path,
                                        const RemoteFileOptions& remote) {
  HALIO_ASSIGN_OR_RETURN(SafetensorsShardIndex shards, ReadShardIndex(path, remote));
  ParameterIndex index;
  index.set_metadata(shards.metadata);
  for (size_t shard = 0; shard < shards.shards.size(); ++shard) {
    Result<IndexedFile> indexed = ReadParameterFile(shards.shards[shard], remote);
    if (!indexed.ok()) {
      Status status = std::move(indexed).status();
      status.Annotate(path + ": shard");
      return status;
    }
    HALIO_RETURN_IF_ERROR(CheckShardAgainstIndex(shards, shard, *indexed, path));
    HALIO_RETURN_IF_ERROR(index.AddFile(std::move(indexed->file), std::move(indexed->entries)));
  }
  HALIO_RETURN_IF_ERROR(CheckIndexComplete(shards, index, path));
  return index;
}

}  // namespace

Result<ParameterIndex> OpenParameterIndex(const std::string& path) {
  return OpenParameterIndex(path, RemoteFileOptions());
}

Result<ParameterIndex> OpenParameterIndex(const std::string& path,
                                          const RemoteFileOptions& remote) {
  if (EndsWith(path, ".json")) return OpenShardedIndex(path, remote);
  HALIO_ASSIGN_OR_RETURN(IndexedFile indexed, ReadParameterFile(path, remote));
  ParameterIndex index;
  HALIO_RETURN_IF_ERROR(index.AddFile(std::move(indexed.file), std::move(indexed.entries)));
  return index;
}

}  // namespace halio
