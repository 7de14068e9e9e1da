// OpenSSL's libcrypto, for SHA-256 only: its assembly uses the CPU's SHA instructions (SHA-NI),
// several times faster than portable code on the originals and latents the daemon hashes.
#include <openssl/evp.h>
