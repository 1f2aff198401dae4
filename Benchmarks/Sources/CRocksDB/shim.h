// RocksDB's C API (Debian: librocksdb-dev), for the load harness's `rocksdb` engine only.
#include <rocksdb/c.h>
