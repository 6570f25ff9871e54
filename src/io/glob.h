// Shell-style wildcard matching for parameter names, as fnmatch(3) with no
// flags: `*` any run of characters (dots and slashes included), `?` one
// character, `[abc]`, `[a-z]`, `[!x]` / `[^x]` one character from (or not
// from) a set, `[[:digit:]]` and the other POSIX classes, `\` escapes the
// next character, and a `[` without its `]` matches itself. Collating
// symbols (`[.x.]`, `[=x=]`) are not supported. Written here rather than calling fnmatch so it runs the
// same everywhere (Windows has no fnmatch) and matches names holding NUL.
//
// Patterns and names are untrusted: matching never recurses and takes
// O(pattern x name) steps at worst.
//
// Thread-safety: stateless.
#ifndef HALIO_SRC_IO_GLOB_H_
#define HALIO_SRC_IO_GLOB_H_

#include <string_view>

namespace halio {

// True when all of `name` matches `pattern`.
bool GlobMatch(std::string_view pattern, std::string_view name);

}  // namespace halio

#endif  // HALIO_SRC_IO_GLOB_H_
