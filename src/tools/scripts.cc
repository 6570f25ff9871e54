#include "scripts.h"

#include <filesystem>
#include <vector>

#include "halio_config.h"
#include "system_info.h"

namespace halio::tools {

Result<std::string> FindHalioScript(const std::string& name) {
  HALIO_ASSIGN_OR_RETURN(std::string binary, platform::CurrentExecutablePath());
  const std::filesystem::path dir = std::filesystem::path(binary).parent_path();
  // The build tree copies the scripts beside the binary (src/tools/meson.build);
  // an installed binary finds them in the data directory.
  const std::vector<std::filesystem::path> candidates = {
      dir / name, (dir / HALIO_DATA_FROM_BINDIR / name).lexically_normal()};
  std::string looked;
  for (const std::filesystem::path& candidate : candidates) {
    std::error_code error;
    if (std::filesystem::is_regular_file(candidate, error)) return candidate.string();
    looked += (looked.empty() ? "" : ", ") + candidate.string();
  }
  return NotFoundError("halio's script " + name + " is not installed (looked in " + looked +
                       "); reinstall halio (meson install puts it in share/halio)");
}

}  // namespace halio::tools
