#pragma once
// MOSIX's smoothed load: the number that goes into LoadRecord::load_local and
// load_guest. A rising load is believed quickly (a new sample weighs 3/8), a
// falling one slowly (1/8), so a node that just got busy stops attracting
// work at once, while a node that just got idle must stay idle for a while
// before others send it work: damping against migration ping-pong.
//
//   sample > value:  value = 5/8 * value + 3/8 * sample
//   otherwise:       value = 7/8 * value + 1/8 * sample
//
// Starting from 0, a steady load L is reached to within 1% after 10 samples;
// a drop from L to 0 takes 35 samples to fall below 1% of L (7/8^35 < 0.01).
// The daemon feeds one sample of runnable processes per sampling interval.

namespace mos::gossip {

class LoadAverager {
 public:
  static constexpr double kRiseWeight = 3.0 / 8.0;
  static constexpr double kDecayWeight = 1.0 / 8.0;

  // Folds in one sample (negative samples count as 0) and returns the new
  // smoothed value.
  double update(double sample);
  double value() const { return value_; }
  void reset(double value = 0.0) { value_ = value; }

 private:
  double value_ = 0.0;
};

}  // namespace mos::gossip
