// Fresh ids (see time_util.h).
#include "time_util.h"

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

namespace reprise::engine {

std::string new_uuid() {
  // Mersenne Twister seeded once per thread from the OS: Boost's plain random_generator asks the
  // kernel (getrandom) for every id, a system call per workflow task and activity attempt. The
  // ids must be unique, not secret, so the seeded generator is enough.
  thread_local boost::uuids::random_generator_mt19937 generator;
  return boost::uuids::to_string(generator());
}

}  // namespace reprise::engine
