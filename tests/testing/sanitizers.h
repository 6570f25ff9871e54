// Which sanitizer this test binary was built with, for the few tests whose
// cost under a sanitizer outweighs what they could find there.
#ifndef HALIO_TESTS_TESTING_SANITIZERS_H_
#define HALIO_TESTS_TESTING_SANITIZERS_H_

namespace halio::testing {

#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace halio::testing

#endif  // HALIO_TESTS_TESTING_SANITIZERS_H_
