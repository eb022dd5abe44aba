#pragma once
// A small deterministic random generator (xoshiro256**, seeded by SplitMix64).
// The standard library's distributions differ between implementations; these do
// not, so a seed gives the same weights and the same shuffles on every platform.
#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <utility>

namespace digitnet {

class Rng {
 public:
  // `stream` separates independent uses of one user seed (init, shuffling, splits).
  explicit Rng(std::uint64_t seed, std::uint64_t stream = 0);
  // The generator's whole state, to store it and go on later with the same draws.
  using State = std::array<std::uint64_t, 4>;
  State state() const { return {s_[0], s_[1], s_[2], s_[3]}; }
  void set_state(const State& s) {
    for (int i = 0; i < 4; ++i) s_[i] = s[i];
  }
  std::uint64_t next() {  // inline: dropout masks draw one per two units
    const std::uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return result;
  }
  double uniform();                      // [0, 1)
  double normal();                       // standard normal (Box-Muller)
  std::uint64_t below(std::uint64_t n);  // uniform integer in [0, n), unbiased

  template <class T>
  void shuffle(std::span<T> v) {  // Fisher-Yates
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::uint64_t s_[4];
};

// Streams used by digitnet, so that e.g. changing the split does not change the init.
enum RngStream : std::uint64_t { kInitStream = 1, kShuffleStream = 2, kSplitStream = 3, kDropoutStream = 4 };

}  // namespace digitnet
