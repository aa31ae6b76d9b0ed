#include "gossip/LoadAverager.h"

namespace mos::gossip {

double LoadAverager::update(double sample) {
  if (!(sample > 0.0)) {  // also catches NaN
    sample = 0.0;
  }
  const double weight = sample > value_ ? kRiseWeight : kDecayWeight;
  value_ += weight * (sample - value_);
  return value_;
}

}  // namespace mos::gossip
