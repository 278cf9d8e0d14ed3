/*
 * The version (README, "Versions"): the macros of the headers and the
 * library that runs agree, and say the same thing three ways.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

TEST(s10_version_of_the_library_is_the_headers_version)
{
    CHECK(strcmp(stortimer_version(), STORTIMER_VERSION_STRING) == 0);
    CHECK_EQ(stortimer_version_number(), STORTIMER_VERSION_NUMBER);
}

TEST(s10_version_string_is_major_minor_patch)
{
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", STORTIMER_VERSION_MAJOR,
             STORTIMER_VERSION_MINOR, STORTIMER_VERSION_PATCH);
    CHECK(strcmp(STORTIMER_VERSION_STRING, expected) == 0);
}

/* S10: the version number orders versions: MAJOR * 10000 + MINOR * 100 +
 * PATCH, with MINOR and PATCH below 100, and no release before 0.1.0. */
_Static_assert(STORTIMER_VERSION_NUMBER == STORTIMER_VERSION_MAJOR * 10000 +
                                               STORTIMER_VERSION_MINOR * 100 +
                                               STORTIMER_VERSION_PATCH,
               "STORTIMER_VERSION_NUMBER is MAJOR * 10000 + MINOR * 100 + PATCH");
_Static_assert(STORTIMER_VERSION_MINOR < 100 && STORTIMER_VERSION_PATCH < 100,
               "MINOR and PATCH fit two decimal digits");
_Static_assert(STORTIMER_VERSION_NUMBER >= 100, "a version number below 0.1.0");
