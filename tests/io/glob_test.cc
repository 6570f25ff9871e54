// Glob matching: fnmatch(3) semantics without flags, checked case by case
// and against the C library's fnmatch on generated patterns and names.
#include "glob.h"

#if !defined(_WIN32)
#include <fnmatch.h>
#endif
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace halio {
namespace {

TEST(GlobTest, Literals) {
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "a"));
  EXPECT_TRUE(GlobMatch("model.embed", "model.embed"));
  EXPECT_FALSE(GlobMatch("model.embed", "model.embed2"));
  EXPECT_FALSE(GlobMatch("model.embed2", "model.embed"));
}

TEST(GlobTest, Wildcards) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything/at.all"));
  EXPECT_TRUE(GlobMatch("layers.*.weight", "layers.0.weight"));
  EXPECT_TRUE(GlobMatch("layers.*.weight", "layers.10.mlp.weight"));
  EXPECT_FALSE(GlobMatch("layers.*.weight", "layers.0.bias"));
  EXPECT_TRUE(GlobMatch("blk.?.attn*", "blk.3.attn_q.weight"));
  EXPECT_FALSE(GlobMatch("blk.?.attn*", "blk.12.attn_q.weight"));
  EXPECT_TRUE(GlobMatch("**a**", "xxaxx"));
  EXPECT_TRUE(GlobMatch("*a*b*c", "aXbXbYc"));
  EXPECT_FALSE(GlobMatch("*a*b*c", "aXbXbYcZ"));
}

TEST(GlobTest, Brackets) {
  EXPECT_TRUE(GlobMatch("layer.[0-3]", "layer.2"));
  EXPECT_FALSE(GlobMatch("layer.[0-3]", "layer.4"));
  EXPECT_TRUE(GlobMatch("layer.[!0-3]", "layer.4"));
  EXPECT_TRUE(GlobMatch("layer.[^0-3]", "layer.4"));
  EXPECT_FALSE(GlobMatch("layer.[!0-3]", "layer.1"));
  EXPECT_TRUE(GlobMatch("[]]", "]"));
  EXPECT_TRUE(GlobMatch("[!]]", "a"));
  EXPECT_TRUE(GlobMatch("[a-]", "-"));
  EXPECT_TRUE(GlobMatch("[", "["));      // unterminated: literal
  EXPECT_TRUE(GlobMatch("a[b", "a[b"));
  EXPECT_TRUE(GlobMatch("layer.[[:digit:]]", "layer.7"));
  EXPECT_FALSE(GlobMatch("layer.[[:digit:]]", "layer.x"));
  EXPECT_TRUE(GlobMatch("[[:alpha:]_]*", "_x"));
  EXPECT_FALSE(GlobMatch("[[:nosuchclass:]]", "a"));
  EXPECT_FALSE(GlobMatch("a[b", "ab"));
}

TEST(GlobTest, Escapes) {
  EXPECT_TRUE(GlobMatch("a\\*b", "a*b"));
  EXPECT_FALSE(GlobMatch("a\\*b", "axb"));
  EXPECT_TRUE(GlobMatch("a\\?", "a?"));
  EXPECT_TRUE(GlobMatch("[\\]]", "]"));
  EXPECT_TRUE(GlobMatch("a\\", "a\\"));  // trailing backslash is literal
}

TEST(GlobTest, NamesWithNulBytes) {
  EXPECT_TRUE(GlobMatch(std::string_view("a?b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(GlobMatch("a", std::string_view("a\0", 2)));
}

TEST(GlobTest, LongInputsStayQuadratic) {
  // Exponential backtracking would never finish this.
  const std::string name(2000, 'a');
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*a*a*b", name));
}

#if !defined(_WIN32)  // the C library's fnmatch is POSIX's
TEST(GlobTest, AgreesWithFnmatch) {
  // Every pattern over a small alphabet of tokens against every short name.
  // No lone "[": glibc reads "[[." as the start of a collating symbol,
  // which GlobMatch does not support (Brackets covers the lone "[").
  const std::vector<std::string> tokens = {"a", "b", ".", "*", "?", "[ab]", "[!a]", "[a-b]",
                                           "\\*", "[[:punct:]]", "[]a]"};
  const std::vector<std::string> letters = {"a", "b", ".", "*", "["};
  std::vector<std::string> patterns = {""};
  for (int length = 0; length < 3; ++length) {
    const size_t count = patterns.size();
    for (size_t i = 0; i < count; ++i) {
      for (const std::string& token : tokens) patterns.push_back(patterns[i] + token);
    }
  }
  std::vector<std::string> names = {""};
  for (int length = 0; length < 4; ++length) {
    const size_t count = names.size();
    for (size_t i = 0; i < count; ++i) {
      for (const std::string& letter : letters) names.push_back(names[i] + letter);
    }
  }
  int compared = 0;
  for (const std::string& pattern : patterns) {
    for (const std::string& name : names) {
      const bool expected = fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
      ASSERT_EQ(GlobMatch(pattern, name), expected) << "pattern '" << pattern << "' name '"
                                                    << name << "'";
      ++compared;
    }
  }
  EXPECT_GT(compared, 100000);
}
#endif  // !_WIN32

}  // namespace
}  // namespace halio
