// Quoting for the shell commands the CLI runs (fio, the python helpers).
#ifndef HALIO_SRC_TOOLS_SHELL_QUOTE_H_
#define HALIO_SRC_TOOLS_SHELL_QUOTE_H_

#include <string>

namespace halio::tools {

// `text` as one POSIX shell word: single-quoted, embedded quotes escaped, so
// paths with spaces or quotes cannot split or inject a command.
inline std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace halio::tools

#endif  // HALIO_SRC_TOOLS_SHELL_QUOTE_H_
