using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace LoraBake.Recipes;

// A small YAML tree built from YamlDotNet's parser events, so that every node keeps its file, line and
// column (for messages), duplicate keys are caught with both positions, and alias expansion is bounded
// before anything walks the tree (a "billion laughs" document fails at parse time, not by exhausting memory).

/// <summary>A YAML node with the place it came from.</summary>
public abstract record YNode(string File, int Line, int Column)
{
    /// <summary>Nodes in this subtree with every alias expanded (1 for a scalar).</summary>
    public abstract long ExpandedSize { get; }
}

/// <summary>A scalar; <see cref="Plain"/> is false for quoted and block scalars (so "true" in quotes stays a string).</summary>
public sealed record YScalar(string File, int Line, int Column, string Value, bool Plain) : YNode(File, Line, Column)
{
    public override long ExpandedSize => 1;
    /// <summary>YAML's null: an empty plain scalar, `~` or `null`.</summary>
    public bool IsNull => Plain && (Value.Length == 0 || Value == "~" || Value.Equals("null", StringComparison.OrdinalIgnoreCase));
}

public sealed record YSequence(string File, int Line, int Column, IReadOnlyList<YNode> Items, long Size) : YNode(File, Line, Column)
{
    public override long ExpandedSize => Size;
}

/// <summary>A mapping entry: the key scalar (its position is where "unknown key" points) and the value.</summary>
public sealed record YEntry(YScalar Key, YNode Value);

public sealed record YMapping(string File, int Line, int Column, IReadOnlyList<YEntry> Entries, long Size) : YNode(File, Line, Column)
{
    public override long ExpandedSize => Size;
    public YEntry? Find(string key) => Entries.FirstOrDefault(e => e.Key.Value == key);
}

/// <summary>Parses one YAML document into a <see cref="YNode"/> tree, reporting problems as diagnostics.</summary>
public static class YamlTree
{
    /// <summary>Documents whose alias expansion exceeds this many nodes are refused (recipes have a few hundred).</summary>
    public const long MaxExpandedNodes = 10_000;
    /// <summary>Nesting deeper than this is refused before it can exhaust the stack (recipes nest 3 levels).</summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// Parses <paramref name="text"/>; returns null (with at least one error added) when the text is not a
    /// usable YAML document, or an empty mapping for an empty file.
    /// </summary>
    public static YNode? Parse(string text, string file, string displayFile, List<RecipeDiagnostic> errors)
    {
        var b = new Builder(new Parser(new StringReader(text)), file, displayFile, errors);
        try
        {
            return b.Document();
        }
        catch (YamlException e)
        {
            var msg = e.InnerException?.Message ?? e.Message;
            // YamlDotNet prefixes its messages with the position; keep only the explanation.
            var cut = msg.IndexOf("): ", StringComparison.Ordinal);
            if (msg.StartsWith("(Line", StringComparison.Ordinal) && cut > 0) msg = msg[(cut + 3)..];
            errors.Add(Diag(displayFile, e.Start, "", $"YAML syntax error: {msg}"));
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner fails this way on some unterminated flow collections ("[1, 2" then a newline).
            errors.Add(Diag(displayFile, b.Last, "", "YAML syntax error: unterminated [ ] or { } after this point; close the bracket or brace"));
            return null;
        }
    }

    sealed class Builder(IParser parser, string file, string displayFile, List<RecipeDiagnostic> errors)
    {
        readonly Dictionary<string, YNode> anchors = new();
        int depth;
        /// <summary>Start of the last event read, for errors the scanner reports without a position.</summary>
        public Mark Last { get; private set; } = Mark.Empty;

        bool TryConsume<T>(out T ev) where T : ParsingEvent
        {
            if (parser.Current != null) Last = parser.Current.Start;
            return parser.TryConsume(out ev!);
        }

        public YNode? Document()
        {
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
                return new YMapping(file, 1, 1, [], 1);
            parser.Consume<DocumentStart>();
            // Null only for fatal problems; duplicate keys are reported and the tree is still returned.
            var root = ParseNode();
            if (root == null) return null;
            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var second))
            {
                errors.Add(Diag(displayFile, second.Start, "", "a recipe is one YAML document; remove the second `---` document"));
                return null;
            }
            return root;
        }

        YNode? ParseNode()
        {
            if (++depth > MaxDepth)
            {
                errors.Add(Diag(displayFile, parser.Current?.Start ?? Last, "", $"the document nests deeper than {MaxDepth} levels; a recipe needs three"));
                return null;
            }
            try
            {
                return ParseNodeAtDepth();
            }
            finally
            {
                depth--;
            }
        }

        YNode? ParseNodeAtDepth()
        {
            if (TryConsume<AnchorAlias>(out var alias))
            {
                if (!anchors.TryGetValue(alias.Value.Value, out var target))
                {
                    errors.Add(Diag(displayFile, alias.Start, "", $"alias *{alias.Value.Value} refers to no anchor defined before it"));
                    return null;
                }
                return target;
            }
            if (TryConsume<Scalar>(out var scalar))
            {
                var node = new YScalar(file, (int)scalar.Start.Line, (int)scalar.Start.Column, scalar.Value, scalar.Style == ScalarStyle.Plain);
                Remember(scalar.Anchor, node);
                return node;
            }
            if (TryConsume<SequenceStart>(out var seqStart))
            {
                var items = new List<YNode>();
                long size = 1;
                while (!TryConsume<SequenceEnd>(out _))
                {
                    var item = ParseNode();
                    if (item == null) return null;
                    size += item.ExpandedSize;
                    if (!CheckSize(size, seqStart.Start)) return null;
                    items.Add(item);
                }
                var node = new YSequence(file, (int)seqStart.Start.Line, (int)seqStart.Start.Column, items, size);
                Remember(seqStart.Anchor, node);
                return node;
            }
            if (TryConsume<MappingStart>(out var mapStart))
            {
                var entries = new List<YEntry>();
                var seen = new Dictionary<string, YScalar>();
                long size = 1;
                while (!TryConsume<MappingEnd>(out _))
                {
                    var keyNode = ParseNode();
                    if (keyNode == null) return null;
                    var value = ParseNode();
                    if (value == null) return null;
                    if (keyNode is not YScalar key)
                    {
                        errors.Add(Diag(displayFile, keyNode, "", "keys must be plain names, not lists or mappings"));
                        continue;
                    }
                    if (seen.TryGetValue(key.Value, out var first))
                    {
                        errors.Add(new RecipeDiagnostic(displayFile, key.Line, key.Column, key.Value,
                            $"duplicate key (first at {first.Line}:{first.Column}, again at {key.Line}:{key.Column}); keep one of them"));
                        continue;
                    }
                    seen[key.Value] = key;
                    size += 1 + value.ExpandedSize;
                    if (!CheckSize(size, mapStart.Start)) return null;
                    entries.Add(new YEntry(key, value));
                }
                var node = new YMapping(file, (int)mapStart.Start.Line, (int)mapStart.Start.Column, entries, size);
                Remember(mapStart.Anchor, node);
                return node;
            }
            var ev = parser.Current;
            errors.Add(Diag(displayFile, ev?.Start ?? Mark.Empty, "", $"unexpected YAML event {ev?.GetType().Name}"));
            return null;
        }

        void Remember(AnchorName anchor, YNode node)
        {
            if (!anchor.IsEmpty) anchors[anchor.Value] = node;
        }

        bool CheckSize(long size, Mark at)
        {
            if (size <= MaxExpandedNodes) return true;
            errors.Add(Diag(displayFile, at, "",
                $"aliases expand this document past {MaxExpandedNodes:N0} nodes; a recipe needs a few hundred, so this looks like an alias bomb. Write the values out instead of nesting aliases"));
            return false;
        }
    }

    static RecipeDiagnostic Diag(string displayFile, Mark at, string key, string message) =>
        new(displayFile, (int)at.Line, (int)at.Column, key, message);

    static RecipeDiagnostic Diag(string displayFile, YNode at, string key, string message) =>
        new(displayFile, at.Line, at.Column, key, message);
}
