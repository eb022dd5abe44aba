#pragma once
// Random distortions of training images, drawn per batch on the fly (no copy of the
// dataset): shifts, rotations, scaling, elastic deformations (Simard et al. 2003), and horizontal
// flips (sensible for Fashion-MNIST, not for digits). Labels are unchanged, pixels stay in [0, 1].
#include <span>
#include <string>
#include <string_view>

#include "digitnet/core/rng.hpp"

namespace digitnet {

struct Augment {
  int shift = 0;         // pixels, each way
  double rotate = 0;     // degrees, each way
  double scale = 0;      // fraction, each way: 0.1 draws a zoom factor in [0.9, 1.1]
  bool elastic = false;  // alpha 6, sigma 3 for 28x28
  bool flip = false;
  bool any() const { return shift > 0 || rotate > 0 || scale > 0 || elastic || flip; }
};

// "shift:2,rotate:10,scale:0.1,elastic,flip"; throws SettingError naming augment
Augment parse_augment(std::string_view text);
std::string to_string(const Augment& a);

// Distorts one height x width image (values in [0, 1]) in place with draws from rng.
void augment_image(const Augment& a, std::span<float> image, int height, int width, Rng& rng);

}  // namespace digitnet
