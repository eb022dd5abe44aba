// A batch written by each core (core/batch.hpp): a core that reads some columns gets those
// columns right, written once; reading others writes them too, never changing what was read.
#include <gtest/gtest.h>

#include "digitnet/core/batch.hpp"

namespace digitnet {
namespace {

TEST(Batch, CopiesWriteTheColumnsReadOnce) {
  constexpr int kRows = 3, kCols = 40;
  const auto value = [](int r, int c) { return float(100 * r + c); };
  int written = 0;  // columns written, over all calls
  const auto write = [&](Matrix<float> X, int first) {
    for (int r = 0; r < X.rows; ++r)
      for (int c = 0; c < X.cols; ++c) X(r, c) = value(r, first + c);
    written += X.cols;
  };
  const Batch<float>::Fill fill(write);
  CoreCopies<float> copies;
  copies.start(Batch<float>(kRows, kCols, fill));
  const auto expect_columns = [&](Matrix<const float> X, int c0, int c1) {
    ASSERT_EQ(X.rows, kRows);
    ASSERT_EQ(X.cols, kCols);
    for (int r = 0; r < kRows; ++r)
      for (int c = c0; c < c1; ++c) EXPECT_EQ(X(r, c), value(r, c)) << r << ", " << c;
  };
  expect_columns(copies.here(0, 10), 0, 10);
  EXPECT_EQ(written, 10);
  expect_columns(copies.here(2, 8), 0, 10);  // inside what was written: nothing new
  EXPECT_EQ(written, 10);
  expect_columns(copies.here(10, 20), 0, 20);  // next to it: both stay
  EXPECT_EQ(written, 20);
  expect_columns(copies.here(30, 40), 30, 40);  // apart: written, and the first ones again when read
  expect_columns(copies.here(0, 20), 0, 20);
  expect_columns(copies.here(), 0, kCols);
  // A new step starts with nothing written.
  written = 0;
  copies.start(Batch<float>(kRows, kCols, fill));
  expect_columns(copies.here(5, 6), 5, 6);
  EXPECT_EQ(written, 1);
}

// The next step's batch, written ahead into copies of its own, becomes the step's batch with
// the columns written ahead; this step's copies are untouched by it.
TEST(Batch, TheNextBatchWrittenAheadIsTheNextStepsBatch) {
  constexpr int kRows = 2, kCols = 20;
  int written_now = 0, written_next = 0;
  const auto now = [&](Matrix<float> X, int first) {
    for (int r = 0; r < X.rows; ++r)
      for (int c = 0; c < X.cols; ++c) X(r, c) = float(first + c);
    written_now += X.cols;
  };
  const auto next = [&](Matrix<float> X, int first) {
    for (int r = 0; r < X.rows; ++r)
      for (int c = 0; c < X.cols; ++c) X(r, c) = float(-(first + c));
    written_next += X.cols;
  };
  const Batch<float>::Fill fill_now(now), fill_next(next);
  CoreCopies<float> copies;
  copies.start(Batch<float>(kRows, kCols, fill_now));
  EXPECT_EQ(copies.here(0, 10)(1, 3), 3.0f);
  copies.start_next(Batch<float>(kRows, kCols, fill_next));
  EXPECT_EQ(copies.next_here(0, 10)(1, 3), -3.0f);
  EXPECT_EQ(copies.here(0, 10)(1, 3), 3.0f);  // this step's batch as it was
  EXPECT_EQ(written_now, 10);
  EXPECT_EQ(written_next, 10);
  // The next step: its batch's columns 0..10 were written ahead; 10..20 are written when read
  // (by the fill it starts with, which writes the same values).
  copies.start_prepared(Batch<float>(kRows, kCols, fill_next));
  EXPECT_EQ(copies.here(0, 10)(1, 3), -3.0f);
  EXPECT_EQ(written_next, 10);
  EXPECT_EQ(copies.here(0, 20)(0, 15), -15.0f);
  EXPECT_EQ(written_next, 30);
  EXPECT_EQ(written_now, 10);
}

TEST(Batch, AMatrixIsReadAsItIs) {
  Tensor<float> X(2, 3);
  X.fill(7);
  CoreCopies<float> copies;
  copies.start(Batch<float>(X.view()));
  EXPECT_EQ(copies.here(1, 2).data, X.data());
  EXPECT_EQ(copies.here().data, X.data());
}

}  // namespace
}  // namespace digitnet
