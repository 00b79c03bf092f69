// The shape tests' helpers (sample data, the four chunkings, the verification mode), compiled
// into test_array_indexing as well.
#include "../array_shape/helpers.cpp"
