// A small JSON writer for the CLI's --json output: one object built key by
// key, strings escaped per RFC 8259 (control characters as \u00XX).
#ifndef HALIO_SRC_TOOLS_JSON_WRITER_H_
#define HALIO_SRC_TOOLS_JSON_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace halio::tools {

inline std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

class JsonObject {
 public:
  JsonObject& Raw(const char* key, const std::string& encoded) {
    text_ += (text_.empty() ? "{" : ",") + JsonString(key) + ":" + encoded;
    return *this;
  }
  JsonObject& String(const char* key, const std::string& value) {
    return Raw(key, JsonString(value));
  }
  JsonObject& Bool(const char* key, bool value) { return Raw(key, value ? "true" : "false"); }
  JsonObject& Number(const char* key, uint64_t value) { return Raw(key, std::to_string(value)); }
  JsonObject& Double(const char* key, double value) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.6g", value);
    return Raw(key, text);
  }
  template <typename T>
  JsonObject& Optional(const char* key, const std::optional<T>& value) {
    if (!value) return Raw(key, "null");
    if constexpr (std::is_same_v<T, std::string>) {
      return String(key, *value);
    } else {
      return Raw(key, std::to_string(*value));
    }
  }
  std::string Close() const { return (text_.empty() ? "{" : text_) + "}"; }

 private:
  std::string text_;
};

// `value` with a fixed number of decimals (JSON numbers and table cells alike:
// more digits than a measurement carries would only be noise).
inline std::string FormatFixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

// "[e1,e2,...]" from already-encoded elements.
inline std::string JsonArray(const std::vector<std::string>& encoded) {
  std::string out = "[";
  for (size_t i = 0; i < encoded.size(); ++i) out += (i ? "," : "") + encoded[i];
  return out + "]";
}

}  // namespace halio::tools

#endif  // HALIO_SRC_TOOLS_JSON_WRITER_H_
