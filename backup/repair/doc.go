// Package repair is the engine of `cairn repair`: it mends a repository that lost or
// damaged objects, so that verify is clean again and every snapshot restores what is
// left of it.
//
// Index rebuilds the index from the packs' own headers. It lists the index segments
// first and the packs second: a backup running meanwhile uploads its packs before the
// segment naming them, so a segment this run did not list (and does not delete) is
// newer than the listing, and every pack a listed segment names that still exists is
// in the pack listing. It writes the new segments before it deletes the old ones
// (repo.ReplaceIndex), so a run killed at any instant leaves duplicate entries and
// never a missing one; running it again lists old and new segments alike and replaces
// them all. Packs whose header does not open are reported and left alone (not deleted,
// not indexed); packs a prune marked are indexed like any other (they exist, and prune
// deletes them in its turn).
//
// Snapshots writes, for each snapshot that needs data the repository lost, a snapshot
// without the lost files, and replaces the original by it (repo.ReplaceSnapshots: new
// record, then a record old → new, then the old record deleted), so that the hash
// chain stays whole. Killed before the replacement is recorded, the run leaves a new
// record beside the old one, which the next run finds clean and replaces the old one
// by the same record again (records are named by their content).
//
// Repair must not run at the same time as a prune: a pack that prune deletes while
// repair reads its header could be named again by the rebuilt index.
package repair
