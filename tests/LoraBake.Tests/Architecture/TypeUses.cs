using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace LoraBake.Tests.Architecture;

/// <summary>One type of an assembly using another type of the same assembly (full names, nested types folded into their outer type).</summary>
sealed record TypeUse(string From, string To);

/// <summary>
/// Which types of an assembly use which others of the same assembly, read from its metadata and IL: base types,
/// interfaces, field, method and local signatures, attributes, and every type, method or field token in a method
/// body. Constants and nameof are inlined by the compiler and leave no trace; everything else a file can use does.
/// Compiled code rather than `using` lines, because a file sees its parent namespaces' types without a using.
/// </summary>
static class TypeUses
{
    public static IReadOnlyList<TypeUse> Read(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        var uses = new HashSet<TypeUse>();
        foreach (var handle in md.TypeDefinitions)
        {
            var from = md.GetTypeDefinition(handle);
            var collector = new Collector(md);
            collector.Add(from.BaseType);
            foreach (var i in from.GetInterfaceImplementations()) collector.Add(md.GetInterfaceImplementation(i).Interface);
            collector.AddAttributes(from.GetCustomAttributes());
            foreach (var p in from.GetGenericParameters())
                foreach (var c in md.GetGenericParameter(p).GetConstraints()) collector.Add(md.GetGenericParameterConstraint(c).Type);
            foreach (var f in from.GetFields())
            {
                var field = md.GetFieldDefinition(f);
                field.DecodeSignature(collector, null);
                collector.AddAttributes(field.GetCustomAttributes());
            }
            foreach (var p in from.GetProperties())
            {
                var property = md.GetPropertyDefinition(p);
                property.DecodeSignature(collector, null);
                collector.AddAttributes(property.GetCustomAttributes());
            }
            foreach (var m in from.GetMethods())
            {
                var method = md.GetMethodDefinition(m);
                method.DecodeSignature(collector, null);
                collector.AddAttributes(method.GetCustomAttributes());
                foreach (var p in method.GetParameters()) collector.AddAttributes(md.GetParameter(p).GetCustomAttributes());
                if (method.RelativeVirtualAddress != 0) collector.AddBody(pe.GetMethodBody(method.RelativeVirtualAddress));
            }
            string fromName = FullName(md, Outermost(md, handle));
            foreach (var to in collector.Used)
            {
                string toName = FullName(md, Outermost(md, to));
                if (toName != fromName) uses.Add(new TypeUse(fromName, toName));
            }
        }
        return uses.OrderBy(u => u.From, StringComparer.Ordinal).ThenBy(u => u.To, StringComparer.Ordinal).ToList();
    }

    static TypeDefinitionHandle Outermost(MetadataReader md, TypeDefinitionHandle handle)
    {
        while (md.GetTypeDefinition(handle).GetDeclaringType() is { IsNil: false } outer) handle = outer;
        return handle;
    }

    static string FullName(MetadataReader md, TypeDefinitionHandle handle)
    {
        var type = md.GetTypeDefinition(handle);
        string ns = md.GetString(type.Namespace), name = md.GetString(type.Name);
        int tick = name.IndexOf('`');
        if (tick >= 0) name = name[..tick];
        return ns.Length == 0 ? name : ns + "." + name;
    }

    /// <summary>Collects the assembly's own type definitions that signatures and method bodies mention.</summary>
    sealed class Collector(MetadataReader md) : ISignatureTypeProvider<int, object?>
    {
        public HashSet<TypeDefinitionHandle> Used { get; } = [];

        public void Add(EntityHandle handle)
        {
            if (handle.IsNil) return;
            switch (handle.Kind)
            {
                case HandleKind.TypeDefinition: Used.Add((TypeDefinitionHandle)handle); break;
                case HandleKind.TypeSpecification: md.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(this, null); break;
                case HandleKind.MethodDefinition: Used.Add(md.GetMethodDefinition((MethodDefinitionHandle)handle).GetDeclaringType()); break;
                case HandleKind.FieldDefinition: Used.Add(md.GetFieldDefinition((FieldDefinitionHandle)handle).GetDeclaringType()); break;
                case HandleKind.MemberReference: Add(md.GetMemberReference((MemberReferenceHandle)handle).Parent); break;
                case HandleKind.MethodSpecification:
                    var spec = md.GetMethodSpecification((MethodSpecificationHandle)handle);
                    Add(spec.Method);
                    spec.DecodeSignature(this, null);
                    break;
            }
        }

        public void AddAttributes(CustomAttributeHandleCollection attributes)
        {
            foreach (var a in attributes) Add(md.GetCustomAttribute(a).Constructor);
        }

        public void AddBody(MethodBodyBlock body)
        {
            if (!body.LocalSignature.IsNil) md.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(this, null);
            foreach (var region in body.ExceptionRegions) Add(region.CatchType);
            var il = body.GetILReader();
            while (il.RemainingBytes > 0)
            {
                int code = il.ReadByte();
                if (code == 0xFE) code = 0xFE00 | il.ReadByte();
                var operand = OperandTypes.TryGetValue(code, out var t) ? t : OperandType.InlineNone;
                switch (operand)
                {
                    case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineType or OperandType.InlineTok:
                        Add(MetadataTokens.EntityHandle(il.ReadInt32()));
                        break;
                    case OperandType.InlineSwitch:
                        int targets = il.ReadInt32(); // read first: `Offset += 4 * ReadInt32()` would lose the count's 4 bytes
                        il.Offset += 4 * targets;
                        break;
                    default: il.Offset += OperandSize(operand); break;
                }
            }
        }

        static int OperandSize(OperandType t) => t switch
        {
            OperandType.InlineNone => 0,
            OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
            OperandType.InlineVar => 2,
            OperandType.InlineI8 or OperandType.InlineR => 8,
            _ => 4,
        };

        static readonly Dictionary<int, OperandType> OperandTypes = typeof(OpCodes)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (OpCode)f.GetValue(null)!)
            .ToDictionary(o => o.Value & 0xFFFF, o => o.OperandType);

        public int GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) { Used.Add(handle); return 0; }
        public int GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => 0;
        public int GetTypeFromSpecification(MetadataReader reader, object? context, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, context);
        public int GetPrimitiveType(PrimitiveTypeCode typeCode) => 0;
        public int GetSZArrayType(int elementType) => 0;
        public int GetArrayType(int elementType, ArrayShape shape) => 0;
        public int GetByReferenceType(int elementType) => 0;
        public int GetPointerType(int elementType) => 0;
        public int GetPinnedType(int elementType) => 0;
        public int GetGenericInstantiation(int genericType, System.Collections.Immutable.ImmutableArray<int> typeArguments) => 0;
        public int GetGenericMethodParameter(object? context, int index) => 0;
        public int GetGenericTypeParameter(object? context, int index) => 0;
        public int GetModifiedType(int modifier, int unmodifiedType, bool isRequired) => 0;
        public int GetFunctionPointerType(MethodSignature<int> signature) => 0;
    }
}
