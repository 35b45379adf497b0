//go:build !unix

package seal

import "os"

// appending reports whether f may have been opened for appending, where
// writes at offsets are not allowed. Without a way to ask, it says yes:
// the payload is then written in order, which is slower but always right.
func appending(*os.File) bool { return true }
