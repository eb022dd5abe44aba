#pragma once
// One exception type for everything a user can get wrong (files, flags, data).
// The CLI prints what() as a single line and exits non-zero.
#include <stdexcept>
#include <string>

namespace digitnet {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An error in one setting of a run (train/recipe.hpp). what() is "NAME: why" or "NAME[i]: why",
// NAME being the recipe's name of the setting, so that each front end can say it in its own
// words: the CLI names the flag, Python the parameter. Another setting named in `why` is
// written `like_this`, in backquotes, for the front ends to rename it too.
struct SettingError : Error {
  SettingError(std::string name, const std::string& why, int item = -1)
      : Error(message(name, why, item)), setting(std::move(name)), index(item), reason(why) {}
  std::string setting;  // "lr", "layers"
  int index;            // the item of a list setting, or -1
  std::string reason;   // what() after the name

 private:
  static std::string message(const std::string& name, const std::string& why, int item) {
    std::string m = name;
    if (item >= 0) m.append("[").append(std::to_string(item)).append("]");
    return m.append(": ").append(why);
  }
};

}  // namespace digitnet
