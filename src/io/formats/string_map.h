// The string -> string map the parsers return metadata in (the same type as
// the public ParameterMetadata), with heterogeneous lookup by string_view.
// A header of its own so users of the parsers do not pull in simdjson.
#ifndef HALIO_SRC_IO_FORMATS_STRING_MAP_H_
#define HALIO_SRC_IO_FORMATS_STRING_MAP_H_

#include <functional>
#include <map>
#include <string>

namespace halio {

using StringMap = std::map<std::string, std::string, std::less<>>;

}  // namespace halio

#endif  // HALIO_SRC_IO_FORMATS_STRING_MAP_H_
