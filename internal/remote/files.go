package remote

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// File is one file of an UploadFiles call.
type File struct {
	Name string      // slash-separated, relative to the directory
	Mode os.FileMode // permission bits
	Data []byte
}

// UploadFiles writes files under the remote directory dir (created if
// needed) in one session: a tar stream unpacked by the remote tar with
// the modes it carries. Parent directories of the files are created 0700,
// so a directory that holds a private key is never readable by others.
// It suits many small files (a job's configuration and keys), where one
// session per file would cost a round trip each; for a single large file,
// where an interrupted copy must not leave a partial file, use Upload.
func (c *Client) UploadFiles(ctx context.Context, dir string, files []File) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	dirs := make(map[string]bool)
	var names []string
	for _, f := range files {
		if f.Name == "" || path.IsAbs(f.Name) || strings.HasPrefix(path.Clean(f.Name), "..") {
			return fmt.Errorf("%s: upload to %s: bad file name %q", c.label, dir, f.Name)
		}
		for d := path.Dir(path.Clean(f.Name)); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names) // parents before children
	for _, d := range names {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o700, ModTime: now}); err != nil {
			return err
		}
	}
	for _, f := range files {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: path.Clean(f.Name), Mode: int64(f.Mode.Perm()), Size: int64(len(f.Data)), ModTime: now}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	// umask 077 covers the moment between a file's creation and tar
	// setting its mode; -p applies the archive's modes for any user.
	script := fmt.Sprintf("set -e; umask 077; mkdir -p -- %s; exec tar -x -p -o -f - -C %s", Quote(dir), Quote(dir))
	return c.run(ctx, fmt.Sprintf("upload %d files to %s", len(files), dir), shell(script), &buf, nil)
}
