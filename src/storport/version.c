/* version.c - the version of the library as built (stortimer.h). */
#include "stortimer.h"

const char *stortimer_version(void)
{
    return STORTIMER_VERSION_STRING;
}

unsigned stortimer_version_number(void)
{
    return STORTIMER_VERSION_NUMBER;
}
