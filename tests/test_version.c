/*
 * The version (README, "Versions"): the macros of the headers and the
 * library that runs agree, and say the same thing three ways.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

TEST(version_of_the_library_is_the_headers_version)
{
    CHECK(strcmp(stortimer_version(), STORTIMER_VERSION_STRING) == 0);
    CHECK_EQ(stortimer_version_number(), STORTIMER_VERSION_NUMBER);
}

TEST(version_string_is_major_minor_patch)
{
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", STORTIMER_VERSION_MAJOR,
             STORTIMER_VERSION_MINOR, STORTIMER_VERSION_PATCH);
    CHECK(strcmp(STORTIMER_VERSION_STRING, expected) == 0);
}

TEST(version_number_orders_versions)
{
    CHECK_EQ(STORTIMER_VERSION_NUMBER, STORTIMER_VERSION_MAJOR * 10000 +
                                           STORTIMER_VERSION_MINOR * 100 +
                                           STORTIMER_VERSION_PATCH);
    CHECK(STORTIMER_VERSION_MINOR < 100 && STORTIMER_VERSION_PATCH < 100);
#if STORTIMER_VERSION_NUMBER < 100
#error "a version number below 0.1.0"
#endif
}
