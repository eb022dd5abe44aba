/* The seed network's shape in FANN 2.2 (Debian's libfann-dev, the classic C MLP library), timed.
 *
 * Usage: fann_seed DIR N_TRAIN N_TEST EPOCHS   -> one JSON object on stdout
 * DIR holds train.u8 (N_TRAIN x 784 pixels), train.labels.u8, test.u8, test.labels.u8: raw bytes
 * that bench/run.py writes from the IDX files (each file's size is checked against the counts).
 *
 * FANN has no ReLU, no softmax and no mini-batches: the nearest it has to the seed network is
 * 784-128-64-10 with tanh hidden units (FANN_SIGMOID_SYMMETRIC), sigmoid outputs and squared
 * error, trained by plain backpropagation one example at a time (FANN_TRAIN_INCREMENTAL). */
#include <floatfann.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static unsigned char* read_exact(const char* dir, const char* name, size_t size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE* f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "fann_seed: cannot open %s\n", path); exit(1); }
  unsigned char* data = malloc(size + 1);
  if (!data || fread(data, 1, size + 1, f) != size) {
    fprintf(stderr, "fann_seed: %s does not hold exactly %zu bytes\n", path, size);
    exit(1);
  }
  fclose(f);
  return data;
}

/* FANN's training set: inputs pixel / 255, targets one-hot. */
static struct fann_train_data* dataset(const unsigned char* px, const unsigned char* labels, unsigned n) {
  struct fann_train_data* d = fann_create_train(n, 784, 10);
  for (unsigned i = 0; i < n; ++i) {
    for (unsigned f = 0; f < 784; ++f) d->input[i][f] = px[(size_t)i * 784 + f] / 255.0f;
    for (unsigned c = 0; c < 10; ++c) d->output[i][c] = labels[i] == c ? 1.0f : 0.0f;
  }
  return d;
}

static unsigned argmax(const fann_type* v) {
  unsigned best = 0;
  for (unsigned c = 1; c < 10; ++c) if (v[c] > v[best]) best = c;
  return best;
}

int main(int argc, char** argv) {
  if (argc != 5) { fprintf(stderr, "usage: fann_seed DIR N_TRAIN N_TEST EPOCHS\n"); return 2; }
  const char* dir = argv[1];
  const unsigned n_train = (unsigned)atoi(argv[2]), n_test = (unsigned)atoi(argv[3]);
  const int epochs = atoi(argv[4]);
  if (n_train == 0 || n_test == 0 || epochs < 1) { fprintf(stderr, "fann_seed: bad counts\n"); return 2; }
  unsigned char* train_px = read_exact(dir, "train.u8", (size_t)n_train * 784);
  unsigned char* train_y = read_exact(dir, "train.labels.u8", n_train);
  unsigned char* test_px = read_exact(dir, "test.u8", (size_t)n_test * 784);
  unsigned char* test_y = read_exact(dir, "test.labels.u8", n_test);
  struct fann_train_data* train = dataset(train_px, train_y, n_train);
  struct fann_train_data* test = dataset(test_px, test_y, n_test);

  srand(1);  /* FANN's initial weights come from rand() */
  struct fann* ann = fann_create_standard(4, 784, 128, 64, 10);
  fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
  fann_set_activation_function_output(ann, FANN_SIGMOID);
  fann_set_training_algorithm(ann, FANN_TRAIN_INCREMENTAL);
  fann_set_learning_rate(ann, 0.1f);
  fann_set_learning_momentum(ann, 0.0f);

  printf("{\"name\": \"FANN 2.2 (tanh+MSE, batch 1)\", \"epoch_seconds\": [");
  for (int e = 0; e < epochs; ++e) {
    const double start = now();
    fann_shuffle_train_data(train);
    fann_train_epoch(ann, train);
    printf("%s%.6f", e ? ", " : "", now() - start);
  }
  unsigned correct = 0;
  double start = now();
  for (unsigned i = 0; i < n_test; ++i) correct += argmax(fann_run(ann, test->input[i])) == test_y[i];
  const double batch1 = now() - start;  /* FANN runs one input at a time: no batched inference */
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  printf("], \"test_accuracy\": %.6f, \"infer_batch1_seconds\": %.6f, \"infer_batch10000_seconds\": %.6f, "
         "\"peak_rss_mb\": %.1f}\n", (double)correct / n_test, batch1, batch1, usage.ru_maxrss / 1024.0);
  fann_destroy(ann);
  fann_destroy_train(train);
  fann_destroy_train(test);
  free(train_px); free(train_y); free(test_px); free(test_y);
  return 0;
}
