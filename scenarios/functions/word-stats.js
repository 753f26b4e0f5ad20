// A user function from a file returning a Map and a Set, to check the codec end to end.
(text) => {
  const counts = new Map();
  for (const word of text.toLowerCase().split(/\W+/).filter(Boolean)) counts.set(word, (counts.get(word) ?? 0) + 1);
  return { counts, distinct: new Set(counts.keys()), longest: [...counts.keys()].sort((a, b) => b.length - a.length)[0] ?? null };
}
