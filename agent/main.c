/*
 * Command line entry point.
 */
#include "lf_build_config.h"

#include <stdio.h>

int main(void)
{
    printf("logferry %s\n", LF_VERSION);
    return 0;
}
