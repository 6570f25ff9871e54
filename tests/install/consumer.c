/* The README's C example, built by tests/install/check.sh against the
 * installed header with pkg-config and with CMake (find_package(halio)):
 * loads every tensor of a parameter file and prints it. */
#include <halio/halio.h>
#include <stdio.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL.safetensors\n", argv[0]);
    return 2;
  }
  const char* paths[] = {argv[1]};
  halio_index_t* index = NULL;
  halio_device_t* device = NULL;
  halio_loaded_t* loaded = NULL;
  halio_status_t status = halio_index_open(paths, 1, &index);
  if (status == NULL) status = halio_device_create("local_async", NULL, &device);
  if (status == NULL) status = halio_load(device, index, NULL, &loaded);
  for (size_t i = 0; status == NULL && i < halio_loaded_count(loaded); ++i) {
    const char* name = NULL;
    halio_buffer_t* tensor = NULL;
    status = halio_loaded_tensor(loaded, i, &name, &tensor);
    if (status == NULL) {
      printf("%s: %llu bytes\n", name, (unsigned long long)halio_buffer_length(tensor));
    }
    halio_buffer_free(tensor);
  }
  int failed = status != NULL;
  if (failed) {
    fprintf(stderr, "%s: %s\n", halio_status_code_name(halio_status_code(status)),
            halio_status_message(status));
  }
  halio_status_free(status);
  halio_loaded_free(loaded);
  halio_device_free(device);
  halio_index_free(index);
  return failed;
}
