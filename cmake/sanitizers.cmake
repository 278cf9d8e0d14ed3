# STORTIMER_SANITIZE: build everything (library, tests, examples) with clang's
# sanitizers. `make test-asan` and `make test-tsan` configure their own build
# trees with it; an ordinary build leaves it empty.
#
#   -DSTORTIMER_SANITIZE=address,undefined   ASan + UBSan, any finding fatal
#   -DSTORTIMER_SANITIZE=thread              TSan
#
# At run time the sanitizer *_OPTIONS (see the Makefile) make every report fail
# its test.
set(STORTIMER_SANITIZE "" CACHE STRING
    "Sanitizers to build with: empty, address,undefined or thread")

if(STORTIMER_SANITIZE)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "STORTIMER_SANITIZE needs clang (-DCMAKE_C_COMPILER=clang)")
  endif()
  set(stortimer_sanitize_flags
    -fsanitize=${STORTIMER_SANITIZE} -fno-omit-frame-pointer)
  if(STORTIMER_SANITIZE MATCHES "undefined")
    # A UBSan finding aborts instead of printing and going on.
    list(APPEND stortimer_sanitize_flags -fno-sanitize-recover=all)
  endif()
  add_compile_options(${stortimer_sanitize_flags})
  add_link_options(${stortimer_sanitize_flags})
  message(STATUS "stortimer: sanitizers ${STORTIMER_SANITIZE}")
endif()
