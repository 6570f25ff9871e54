// Without memfd the penalty is not measured: never realign.
#include "fd_io.h"

namespace halio::platform {

double SlowKernelCopyRatio() { return 1.0; }

}  // namespace halio::platform
