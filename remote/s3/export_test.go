package s3

// SetListPage makes Confirm list n keys per request, so that tests cross pages with
// few objects.
func (s *Store) SetListPage(n int) { s.listPage = n }
