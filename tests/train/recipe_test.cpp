// The recipe: one table of every setting, one validation naming the setting, round trips
// through text and JSON, and the pieces the layers below take.
#include <set>

#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/train/presets.hpp"
#include "digitnet/train/recipe.hpp"

namespace digitnet {
namespace {

// The error of setting `name` to `text` as the CLI reads it.
std::string text_error(const std::string& name, const std::string& text) {
  Recipe r;
  try {
    set_setting(r, find_setting(name), std::string_view(text));
  } catch (const SettingError& e) {
    EXPECT_EQ(e.setting, name);
    return e.what();
  }
  return "";
}

std::string json_error(const std::string& name, const nlohmann::json& v) {
  Recipe r;
  try {
    set_setting(r, find_setting(name), v);
  } catch (const SettingError& e) {
    EXPECT_EQ(e.setting, name);
    return e.what();
  }
  return "";
}

TEST(Recipe, EveryFieldHasARowAndEveryRowAHelpLine) {
  std::set<std::string> names;
  for (const Setting& s : recipe_settings()) {
    EXPECT_TRUE(names.insert(std::string(s.name)).second) << s.name << " twice";
    EXPECT_FALSE(s.help.empty()) << s.name;
    EXPECT_EQ(lookup_setting(s.name), &s);
  }
  // Every field is reached by the table: changing each row's value changes the recipe.
  for (const Setting& s : recipe_settings()) {
    Recipe r;
    const nlohmann::json before = get_setting(r, s);
    if (s.kind == SettingKind::whole || s.kind == SettingKind::batch) set_setting(r, s, nlohmann::json(2));
    else if (s.kind == SettingKind::seed) set_setting(r, s, nlohmann::json(7));
    else if (s.kind == SettingKind::number) set_setting(r, s, nlohmann::json(s.range.lo_open ? s.range.hi : 0.5));
    else if (s.kind == SettingKind::choice) set_setting(r, s, nlohmann::json(s.choices.back()));
    else if (s.kind == SettingKind::sizes) set_setting(r, s, nlohmann::json({5, 6}));
    else if (s.kind == SettingKind::numbers) set_setting(r, s, nlohmann::json({0.25}));
    else if (s.name == "init") set_setting(r, s, nlohmann::json("xavier"));
    else if (s.name == "schedule") set_setting(r, s, nlohmann::json("cosine"));
    else if (s.name == "augment") set_setting(r, s, nlohmann::json("flip"));
    else if (s.name == "split") set_setting(r, s, nlohmann::json("dev:10"));
    else set_setting(r, s, nlohmann::json("somewhere"));
    EXPECT_NE(get_setting(r, s), before) << s.name;
    EXPECT_EQ(recipe_differences(r, Recipe{}), std::vector<std::string>{std::string(s.name)});
  }
  EXPECT_EQ(recipe_json(Recipe{}).size(), recipe_settings().size());
}

TEST(Recipe, JsonAndTextRoundTrips) {
  Recipe r{.layers = {64, 32, 16, 10},
           .optimizer = "adamw",
           .lr = 0.003,
           .dropout = {0.3, 0.1},
           .augment = "shift:2,rotate:8",
           .data = "digits",
           .batch = 0,
           .seed = 18446744073709551615ULL};
  EXPECT_EQ(recipe_from_json(recipe_json(r)), r);
  EXPECT_EQ(recipe_from_json(nlohmann::json::parse(recipe_json(r).dump())), r);
  Recipe again;
  for (const Setting& s : recipe_settings()) set_setting(again, s, std::string_view(setting_text(r, s)));
  EXPECT_EQ(again, r);
  EXPECT_EQ(setting_text(r, find_setting("batch")), "full");
  EXPECT_EQ(setting_text(r, find_setting("layers")), "64,32,16,10");
  // a missing setting takes its default; '-' reads as '_'
  EXPECT_EQ(recipe_from_json({{"lr", 0.5}}).lr, 0.5);
  EXPECT_EQ(&find_setting("weight-decay"), &find_setting("weight_decay"));
}

TEST(Recipe, WholeNumbersAreDecimalAndInRange) {
  EXPECT_EQ(text_error("epochs", "0x10"), "epochs: '0x10' is not a whole number (decimal digits only)");
  EXPECT_EQ(text_error("epochs", "1e3"), "epochs: '1e3' is not a whole number (decimal digits only)");
  EXPECT_EQ(text_error("epochs", "-3"), "epochs: '-3' is not a whole number (decimal digits only)");
  EXPECT_EQ(text_error("epochs", "0"), "epochs: 0 is not a whole number from 1 to 1000000");
  EXPECT_EQ(text_error("threads", "1025"), "threads: 1025 is not a whole number from 0 to 1024");
  EXPECT_EQ(text_error("batch", "many"), "batch: 'many' is not a whole number or full (decimal digits only)");
  EXPECT_EQ(text_error("seed", "18446744073709551616"),
            "seed: '18446744073709551616' is not a whole number from 0 "
            "to 18446744073709551615");
  EXPECT_EQ(text_error("layers", "784,64.5,10"), "layers[1]: '64.5' is not a whole number (decimal digits only)");
  EXPECT_EQ(text_error("layers", "784,,10"), "layers[1]: '' is not a whole number (decimal digits only)");
  EXPECT_EQ(text_error("epochs", "12"), "");
}

TEST(Recipe, JsonValuesAreCheckedAsText) {
  EXPECT_EQ(json_error("layers", {64.5, 32, 10}), "layers[0]: 64.5 is not a whole number");
  EXPECT_EQ(json_error("layers", {64, -1, 10}), "layers[1]: -1 is not a whole number from 1 to 1000000");
  EXPECT_EQ(json_error("layers", "784,10"), "layers: \"784,10\" is not a list of whole numbers");
  EXPECT_EQ(json_error("epochs", 2.5), "epochs: 2.5 is not a whole number");
  EXPECT_EQ(json_error("epochs", true), "epochs: true is not a whole number");
  EXPECT_EQ(json_error("lr", "fast"), "lr: \"fast\" is not a number");
  EXPECT_EQ(json_error("activation", 3), "activation: 3 is not text");
  EXPECT_EQ(json_error("seed", -1), "seed: -1 is not a whole number from 0 to 2^64-1");
  EXPECT_EQ(json_error("dropout", {0.1, 1.0}), "dropout[1]: 1 is not in [0, 1)");
  EXPECT_EQ(json_error("epochs", 4.0), "");   // a whole number written with a fraction
  EXPECT_EQ(json_error("dropout", 0.2), "");  // one number is a list of one
}

TEST(Recipe, NumbersAndChoicesNameWhatIsWrong) {
  EXPECT_EQ(text_error("lr", "0"), "lr: 0 is not in (0, 1000]");
  EXPECT_EQ(text_error("lr", "nan"), "lr: nan is not a finite number");
  EXPECT_EQ(text_error("lr", "0.1.2"), "lr: '0.1.2' is not a number");
  EXPECT_EQ(text_error("momentum", "1"), "momentum: 1 is not in [0, 1)");
  EXPECT_EQ(text_error("activation", "gelu"),
            "activation: 'gelu' is not one of relu, sigmoid, tanh (did you mean relu?)");
  EXPECT_EQ(text_error("optimizer", "adamx"),
            "optimizer: 'adamx' is not one of sgd, momentum, nesterov, adam, adamw (did you mean adam?)");
  EXPECT_EQ(text_error("augment", "shift:2,shift:2"), "augment: 'shift' is given twice in 'shift:2,shift:2'");
  EXPECT_NE(text_error("init", "glorot"), "");
  EXPECT_NE(text_error("schedule", "step:0:1"), "");
  EXPECT_NE(text_error("split", "random:1.5"), "");
}

TEST(Recipe, RulesBetweenSettings) {
  const auto first = [](const Recipe& r) {
    const auto errors = check_recipe(r);
    return errors.empty() ? std::string() : std::string(errors.front().what());
  };
  EXPECT_EQ(first(Recipe{}), "");
  EXPECT_EQ(first(Recipe{.warmup = 20, .epochs = 10}), "warmup: 20 epochs is more than the run's 10");
  EXPECT_EQ(first(Recipe{.early_stop = 3}), "early_stop: needs a validation share: set `val` (0.1, say)");
  EXPECT_EQ(first(Recipe{.loss = "mse", .label_smoothing = 0.1}), "label_smoothing: only applies to the ce `loss`");
  EXPECT_EQ(first(Recipe{.dropout = {0.1, 0.2, 0.3}}),
            "dropout: 3 values for 2 hidden layers (give one, or one per hidden layer)");
  EXPECT_EQ(first(Recipe{.layers = {784}}), "layers: needs at least an input and an output size");
  // every problem, not only the first
  EXPECT_EQ(check_recipe(Recipe{.lr = -1, .epochs = 0}).size(), 2u);
  EXPECT_THROW(validate(Recipe{.lr = -1}), SettingError);
}

TEST(Recipe, UnknownNamesSuggestTheClosest) {
  try {
    recipe_from_json({{"learning_rate", 0.1}});
    FAIL();
  } catch (const SettingError& e) {
    EXPECT_STREQ(e.what(), "learning_rate: not a setting");
  }
  try {
    recipe_from_json({{"epoch", 3}});
    FAIL();
  } catch (const SettingError& e) {
    EXPECT_STREQ(e.what(), "epoch: not a setting (did you mean epochs?)");
  }
  EXPECT_EQ(closest_name("evaluate", {"train", "eval", "predict"}), "eval");
  EXPECT_EQ(closest_name("xyz", {"train", "eval"}), std::nullopt);
}

TEST(Recipe, EveryPresetIsAValidRecipe) {
  for (const Preset& p : presets()) {
    SCOPED_TRACE(p.name);
    EXPECT_NO_THROW(validate(p.recipe));
    EXPECT_EQ(recipe_from_json(recipe_json(p.recipe)), p.recipe);
  }
  EXPECT_EQ(find_preset("seed001").name, "digits-relu-32");
  try {
    find_preset("best-digit");
    FAIL();
  } catch (const SettingError& e) {
    EXPECT_EQ(e.setting, "preset");
    EXPECT_NE(std::string(e.what()).find("did you mean best-digits?"), std::string::npos) << e.what();
  }
}

TEST(Recipe, PiecesForTheLayersBelow) {
  const Recipe r{.layers = {36, 20, 10},
                 .activation = "tanh",
                 .loss = "mse",
                 .optimizer = "nesterov",
                 .momentum = 0.8,
                 .schedule = "step:5:0.5",
                 .warmup = 2,
                 .augment = "shift:1",
                 .split = "dev:7"};
  const Architecture a = architecture(r);
  EXPECT_EQ(a.sizes, r.layers);
  EXPECT_EQ(a.hidden, Activation::tanh);
  EXPECT_EQ(a.loss, Loss::mse);
  EXPECT_EQ(optimizer_config(r).kind, OptimizerConfig::nesterov);
  EXPECT_EQ(optimizer_config(r).momentum_factor, 0.8);
  EXPECT_EQ(learning_schedule(r).kind, Schedule::step);
  EXPECT_EQ(learning_schedule(r).warmup_epochs, 2);
  EXPECT_EQ(augmentation(r).shift, 1);
  EXPECT_EQ(data_split(r).count, 7u);
  // the same seed draws the same network
  const auto a1 = new_network(r), a2 = new_network(r);
  EXPECT_TRUE(std::equal(a1.layers.parameters().begin(), a1.layers.parameters().end(), a2.layers.parameters().begin()));
}

TEST(Recipe, FittedToTheData) {
  Recipe preset{.layers = {784, 32, 10}};
  fit_to_data(preset, 64, 8, /*layers_given=*/false);  // a preset's network takes the data's input size
  EXPECT_EQ(preset.layers, (std::vector<int>{64, 32, 10}));
  Recipe given{.layers = {784, 32, 10}};
  try {
    fit_to_data(given, 64, 8, true);
    FAIL();
  } catch (const SettingError& e) {
    EXPECT_STREQ(e.what(), "layers: input size 784 does not match the data (64 values per example, 8x8 images)");
  }
  Recipe wide{.layers = {64, 12}};
  EXPECT_THROW(fit_to_data(wide, 64, 8, true), SettingError);  // 12 classes
  Recipe flat{.layers = {64, 10}, .augment = "flip"};
  EXPECT_THROW(fit_to_data(flat, 64, 1, true), SettingError);  // no 2-D shape to distort
}

}  // namespace
}  // namespace digitnet
