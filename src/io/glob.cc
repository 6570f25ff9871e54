#include "glob.h"

#include <cctype>
#include <cstddef>

namespace halio {
namespace {

struct Bracket {
  bool terminated = false;
  bool matched = false;
  size_t end = 0;  // after the closing ']'
};

// Whether `c` is in the POSIX class `name` ("digit", "alpha", ...); false
// for names POSIX does not define, as fnmatch does.
bool InCharacterClass(std::string_view name, unsigned char c) {
  static constexpr struct {
    std::string_view name;
    int (*test)(int);
  } kClasses[] = {{"alnum", isalnum}, {"alpha", isalpha}, {"blank", isblank},
                  {"cntrl", iscntrl}, {"digit", isdigit}, {"graph", isgraph},
                  {"lower", islower}, {"print", isprint}, {"punct", ispunct},
                  {"space", isspace}, {"upper", isupper}, {"xdigit", isxdigit}};
  for (const auto& cls : kClasses) {
    if (cls.name == name) return cls.test(c) != 0;
  }
  return false;
}

// The bracket expression starting at pattern[open] == '[', tested on `c`.
Bracket MatchBracket(std::string_view pattern, size_t open, unsigned char c) {
  Bracket bracket;
  size_t i = open + 1;
  const bool negate = i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^');
  if (negate) ++i;
  // A ']' right after the opening (or its negation) is a member, not the end.
  for (bool first = true; i < pattern.size(); ++i, first = false) {
    if (pattern[i] == ']' && !first) {
      bracket.terminated = true;
      bracket.matched = bracket.matched != negate;
      bracket.end = i + 1;
      return bracket;
    }
    if (pattern.substr(i, 2) == "[:") {
      // "[:digit:]": a class, when its ":]" follows.
      const size_t close = pattern.find(":]", i + 2);
      if (close != std::string_view::npos) {
        if (InCharacterClass(pattern.substr(i + 2, close - i - 2), c)) bracket.matched = true;
        i = close + 1;
        continue;
      }
    }
    if (pattern[i] == '\\' && i + 1 < pattern.size()) ++i;
    unsigned char low = static_cast<unsigned char>(pattern[i]);
    unsigned char high = low;
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      high = static_cast<unsigned char>(pattern[i + 2]);
      i += 2;
    }
    if (low <= c && c <= high) bracket.matched = true;
  }
  return bracket;
}

// Matches the token at pattern[p] (anything but '*') against `c`; on a
// match, *next is the position after the token.
bool MatchToken(std::string_view pattern, size_t p, char c, size_t* next) {
  if (pattern[p] == '?') {
    *next = p + 1;
    return true;
  }
  if (pattern[p] == '[') {
    const Bracket bracket = MatchBracket(pattern, p, static_cast<unsigned char>(c));
    if (bracket.terminated) {
      *next = bracket.end;
      return bracket.matched;
    }
  }
  if (pattern[p] == '\\' && p + 1 < pattern.size()) ++p;
  *next = p + 1;
  return pattern[p] == c;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view name) {
  size_t p = 0;
  size_t n = 0;
  // The most recent '*': where the pattern resumes after it and how much of
  // the name it has swallowed. Retrying only the last star is enough for
  // globs, so matching stays iterative and quadratic at worst.
  size_t star_resume = std::string_view::npos;
  size_t star_name = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_resume = ++p;
      star_name = n;
      continue;
    }
    size_t next = 0;
    if (p < pattern.size() && MatchToken(pattern, p, name[n], &next)) {
      p = next;
      ++n;
      continue;
    }
    if (star_resume == std::string_view::npos) return false;
    p = star_resume;
    n = ++star_name;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace halio
