/*
 * floor.c - the physical floor of listing a Maildir, for bench/ls.
 *
 *     floor readdir DIR     read the names of DIR/new and DIR/cur, print
 *                           the count (what any listing must do)
 *     floor read4k DIR      also open each file and read its first 4 KiB
 *                           (what a listing without a cache must do)
 *
 * Built by bench/ls with cc -O2; not part of the project's build.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    static const char *const subs[] = { "new", "cur" };
    static char buf[4096];
    unsigned long n = 0, bytes = 0;
    int readfiles;

    if (argc != 3 || (strcmp(argv[1], "readdir") != 0 &&
                      strcmp(argv[1], "read4k") != 0)) {
        fprintf(stderr, "usage: floor readdir|read4k MAILDIR\n");
        return 64;
    }
    readfiles = strcmp(argv[1], "read4k") == 0;
    for (int s = 0; s < 2; s++) {
        char path[4096];
        struct dirent *de;
        DIR *d;

        snprintf(path, sizeof path, "%s/%s", argv[2], subs[s]);
        d = opendir(path);
        if (!d) {
            perror(path);
            return 66;
        }
        while ((de = readdir(d)) != NULL) {
            int fd;
            ssize_t r;

            if (de->d_name[0] == '.')
                continue;
            n++;
            if (!readfiles)
                continue;
            fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            r = read(fd, buf, sizeof buf);
            if (r > 0)
                bytes += (unsigned long)r;
            close(fd);
        }
        closedir(d);
    }
    printf("%lu files, %lu bytes\n", n, bytes);
    return 0;
}
