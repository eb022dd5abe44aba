#pragma once
// Learning-rate schedules, evaluated at every step from t = epochs done so far (fractional).
//   constant          lr
//   step:E:G          lr * G^floor(t / E)
//   cosine            lr * (1 + cos(pi t / T)) / 2                      T = total epochs
//   onecycle          up from lr/25 to lr over the first 30% of T, then cosine down to lr/25e4
// With warmup W > 0 the result is also scaled by min(1, t / W) (linear warmup).
#include <string>
#include <string_view>

namespace digitnet {

struct Schedule {
  enum Kind { constant, step, cosine, onecycle } kind = constant;
  double step_epochs = 10, gamma = 0.1;  // step:E:G
  double warmup_epochs = 0;
};

Schedule parse_schedule(std::string_view text);  // throws SettingError naming schedule
std::string to_string(const Schedule& s);
double scheduled_lr(const Schedule& s, double base_lr, double t, int total_epochs);

}  // namespace digitnet
