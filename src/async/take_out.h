// TakeOutWhere: removes the elements a predicate picks from a list and
// returns them, asking the predicate once per element.
//
// Once matters when the answer can change while the list is walked. The
// remote transfer thread (curl/curl_range_client.cc) aborts the requests
// whose read was cancelled, and another thread may cancel another read at
// any moment: a predicate asked twice (once to collect, once to erase) could
// answer "keep" and then "remove", so a request left the lists without being
// completed; its read waited forever, or its transfer wrote on into a read
// that had returned (the intermittent abort and hang of session 7).
//
// Thread-safety: none of its own; the caller owns `items`.
#ifndef HALIO_SRC_ASYNC_TAKE_OUT_H_
#define HALIO_SRC_ASYNC_TAKE_OUT_H_

#include <vector>

namespace halio {

// `items`: a sequence container (vector, deque) of copyable values, such as
// pointers. Keeps the order of both the kept and the taken elements. Throws
// std::bad_alloc (before touching `items`) when the result cannot be had.
template <typename Container, typename Picks>
std::vector<typename Container::value_type> TakeOutWhere(Container& items, Picks picks) {
  std::vector<typename Container::value_type> taken;
  // Reserved first: a bad_alloc halfway would leave `items` half compacted.
  taken.reserve(items.size());
  auto kept = items.begin();
  for (auto it = items.begin(); it != items.end(); ++it) {
    if (picks(*it)) {
      taken.push_back(*it);
    } else {
      *kept++ = *it;
    }
  }
  items.erase(kept, items.end());
  return taken;
}

}  // namespace halio

#endif  // HALIO_SRC_ASYNC_TAKE_OUT_H_
