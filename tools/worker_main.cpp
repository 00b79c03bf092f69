// tessera-worker tcp://HOST:PORT [--nthreads N] [--memory-limit 4GiB] [--local-directory DIR]
//                [--name NAME] [--host HOST] [--curve-key-dir DIR] [--insecure-bind-all]

#include "tessera/distributed.hpp"

int main(int argc, char** argv) { return tessera::worker_main(argc, argv); }
