#pragma once
// Drawing in the terminal: digits as shaded characters, a progress bar.
#include <span>
#include <string>
#include <vector>

#include "digitnet/fetch/download.hpp"

namespace digitnet::cli {

// One character per pixel column and one line per two pixel rows (terminal cells are
// about twice as tall as wide). `notes` are printed to the right of the first lines.
std::string draw_digit(std::span<const float> pixels01, int height, int width,
                       const std::vector<std::string>& notes = {});

bool stdout_is_terminal();
// "\r  epoch 3 [=========>          ]  45%" without a newline; clear_line() erases it.
void show_progress(int epoch, std::size_t done, std::size_t total);
void clear_line();

// Fetching datasets from the CLI: what is downloaded and from where on stderr, with a
// progress bar there when stderr is a terminal (stdout stays clean for --json).
FetchOptions cli_fetch_options();

}  // namespace digitnet::cli
