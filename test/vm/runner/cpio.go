package main

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// writeInitramfs packs dir as a gzip'd "newc" cpio archive, the format the kernel unpacks
// into its rootfs. Owners are root and times zero so the same tree gives the same bytes.
func writeInitramfs(dir, out string) error {
	f, err := os.Create(out + ".tmp")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	zw, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err != nil {
		return err
	}
	cw := &cpioWriter{w: zw}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		return cw.add(path, rel)
	})
	if err == nil {
		err = cw.header("TRAILER!!!", 0, 0, 1)
	}
	for _, c := range []io.Closer{zw} {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return os.Rename(out+".tmp", out)
}

type cpioWriter struct {
	w   io.Writer
	ino uint32
}

func (c *cpioWriter) add(path, name string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	perm := uint32(fi.Mode().Perm())
	switch {
	case fi.Mode().IsDir():
		return c.header(name, 0o040000|perm, 0, 2)
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(path)
		if err != nil {
			return err
		}
		if err := c.header(name, 0o120777, len(target), 1); err != nil {
			return err
		}
		return c.data([]byte(target))
	case fi.Mode().IsRegular():
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := c.header(name, 0o100000|perm, len(b), 1); err != nil {
			return err
		}
		return c.data(b)
	}
	return fmt.Errorf("%s: unsupported file type %s", path, fi.Mode().Type())
}

// header writes one newc header and the NUL-terminated name, padded to 4 bytes.
func (c *cpioWriter) header(name string, mode uint32, size, nlink int) error {
	c.ino++
	h := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(name)+1, 0)
	return c.data(append([]byte(h), append([]byte(name), 0)...))
}

// data writes b followed by zero padding to a 4-byte boundary. Headers are 110 bytes, so
// padding each piece separately keeps every field where the kernel expects it.
func (c *cpioWriter) data(b []byte) error {
	if _, err := c.w.Write(b); err != nil {
		return err
	}
	_, err := c.w.Write(make([]byte, (4-len(b)%4)%4))
	return err
}
