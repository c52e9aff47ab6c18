/* main.c: mock-store's command line. Parses the options, loads --data,
 * and hands over to the event loop in server.c until SIGTERM/SIGINT. */
#include "state.h"
#include "server.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *to)
{
    fprintf(to, "usage: mock-store [--bind 127.0.0.1] [--port 27017] [--data FILE]\n"
                "                  [--simulate DB.COLL:SECONDS [--loop ID]] [--quiet]\n");
}

/* DB.COLL:SECONDS; the collection name may itself contain dots. */
static bool parse_simulate(char *arg, ms_server_config_t *cfg)
{
    char *colon = strrchr(arg, ':');
    char *dot = strchr(arg, '.');
    if (!colon || !dot || dot > colon || dot == arg || dot + 1 == colon)
        return false;
    char *end;
    double seconds = strtod(colon + 1, &end);
    if (*end || !(seconds > 0))
        return false;
    *colon = '\0';
    *dot = '\0';
    cfg->sim_db = arg;
    cfg->sim_coll = dot + 1;
    cfg->sim_seconds = seconds;
    return true;
}

int main(int argc, char **argv)
{
    ms_server_config_t cfg = {.bind = "127.0.0.1", .port = 27017};
    const char *data = NULL;
    static const struct option opts[] = {
        {"bind", required_argument, NULL, 'b'},  {"port", required_argument, NULL, 'p'},
        {"data", required_argument, NULL, 'd'},  {"simulate", required_argument, NULL, 's'},
        {"loop", required_argument, NULL, 'l'},  {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "b:p:d:s:l:qh", opts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'b':
            cfg.bind = optarg;
            break;
        case 'p':
            cfg.port = (int)strtol(optarg, &end, 10);
            if (*end || cfg.port < 0 || cfg.port > 65535) {
                fprintf(stderr, "mock-store: --port needs a number from 0 to 65535\n");
                return 2;
            }
            break;
        case 'd':
            data = optarg;
            break;
        case 's':
            if (!parse_simulate(optarg, &cfg)) {
                fprintf(stderr, "mock-store: --simulate needs DB.COLL:SECONDS (seconds > 0)\n");
                return 2;
            }
            break;
        case 'l':
            cfg.sim_loop_id = optarg;
            break;
        case 'q':
            cfg.quiet = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (cfg.sim_loop_id && !cfg.sim_db) {
        fprintf(stderr, "mock-store: --loop needs --simulate\n");
        return 2;
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }

    ms_state_t state;
    ms_state_init(&state);
    if (data) {
        bson_error_t err;
        if (!ms_store_load_file(&state.store, data, &err)) {
            fprintf(stderr, "mock-store: --data %s: %s\n", data, err.message);
            ms_state_destroy(&state);
            return 1;
        }
    }
    int rc = ms_server_run(&state, &cfg);
    ms_state_destroy(&state);
    return rc;
}
