/* freeze-thread TID: stops one thread of a running process and keeps it stopped, while the
 * process's other threads run on. The booth VM tests hang the booth app's UI thread with it
 * (the main thread: TID = PID) to show that the systemd watchdog, fed from that thread, restarts
 * the app. ptrace stops exactly the thread it seizes; the stop lasts while this tool lives.
 * Built statically on the host by the tests and run in the guest from the tools disk. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: freeze-thread TID\n");
        return 2;
    }
    pid_t tid = (pid_t)atoi(argv[1]);
    if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
        fprintf(stderr, "freeze-thread: cannot seize thread %d: %s\n", tid, strerror(errno));
        return 1;
    }
    if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0) {
        fprintf(stderr, "freeze-thread: cannot stop thread %d: %s\n", tid, strerror(errno));
        return 1;
    }
    int status;
    if (waitpid(tid, &status, __WALL) != tid) {
        fprintf(stderr, "freeze-thread: thread %d did not stop: %s\n", tid, strerror(errno));
        return 1;
    }
    printf("frozen %d\n", tid);
    fflush(stdout);
    /* Keep it stopped. If the process dies (the watchdog's SIGABRT), waitpid reports it. */
    for (;;) {
        if (waitpid(tid, &status, __WALL) == -1 && errno == ECHILD) {
            return 0;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            printf("thread %d ended\n", tid);
            return 0;
        }
        /* Any other stop (a signal on its way to the thread): keep it stopped, swallow it. */
    }
}
