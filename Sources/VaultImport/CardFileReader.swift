import Foundation
import VaultCrypto
import VaultDomain
import VaultProviders

/// The rows of a card file for `cardvault import`, read from its sealed stream a batch at a
/// time: JSON lines (`{"number": "...", "exp_month": "..", "exp_year": "....", "holder": "...",
/// "reference": "..."}`) or CSV with a header naming those columns (any order; `holder`
/// optional). Plaintext exists only a chunk and a line at a time, and both are zeroed after
/// use; card numbers go straight from the line into `SensitiveBytes`.
public final class CardFileReader {
    /// The longest line read; a longer one is an unreadable row, so a file cannot make the
    /// reader hold an unbounded line.
    public static let maxLineBytes = 4096
    static let columns: Set<String> = ["number", "exp_month", "exp_year", "holder", "reference"]
    /// What `cardvault export` writes besides: its token stands for the reference when a line
    /// has none; its fingerprint (the exporting vault's keyed hash) is not used here.
    static let exportColumns: Set<String> = ["token", "fingerprint"]

    private let stream: SealedStreamReader
    private var line: [UInt8] = []
    private var overlong = false
    private var lineNumber = 0
    /// Complete lines of the current chunk not handed out yet (each wiped once parsed).
    private var pending: [CardImportRow] = []
    private var csvColumns: [String]?
    private var format: Format?
    private var finished = false

    enum Format { case jsonLines, csv }

    public init(stream: SealedStreamReader) {
        self.stream = stream
        line.reserveCapacity(Self.maxLineBytes)
    }

    deinit { wipe(&line) }

    /// Up to `size` rows; empty at the end of the file. Throws `import_file_unreadable` when
    /// the stream is damaged or cut short, and `malformed_request` for a CSV header that does
    /// not name the columns.
    public func nextBatch(size: Int) throws(VaultError) -> [CardImportRow] {
        while pending.count < size && !finished {
            do {
                let more = try stream.next { chunk in try self.consume(chunk) }
                if !more {
                    finished = true
                    if !line.isEmpty || overlong { try endLine() }
                }
            } catch let error as VaultError {
                throw error
            } catch {
                throw SealedFile.unreadable
            }
        }
        let batch = Array(pending.prefix(size))
        pending.removeFirst(batch.count)
        return batch
    }

    private func consume(_ chunk: UnsafeRawBufferPointer) throws(VaultError) {
        for byte in chunk {
            if byte == 0x0A {
                try endLine()
            } else if line.count < Self.maxLineBytes {
                line.append(byte)
            } else {
                overlong = true
            }
        }
    }

    private func endLine() throws(VaultError) {
        lineNumber += 1
        defer {
            wipe(&line)
            line.removeAll(keepingCapacity: true)
            overlong = false
        }
        if line.last == 0x0D { line.removeLast() }
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) && !overlong { return }
        if format == nil {
            format = line.first == UInt8(ascii: "{") ? .jsonLines : .csv
            if format == .csv {
                csvColumns = try Self.header(line)
                return
            }
        }
        let row = rowNumber
        if overlong {
            pending.append(.unreadable(line: row))
            return
        }
        pending.append((format == .csv ? csvRow(row) : jsonRow(row)) ?? .unreadable(line: row))
    }

    /// Rows are numbered from 1, the CSV header not counted.
    private var rowNumber: Int { csvColumns == nil ? lineNumber : lineNumber - 1 }

    private func jsonRow(_ row: Int) -> CardImportRow? {
        let value = line.withUnsafeBufferPointer { JSONValue.parse($0, sensitive: ["number"]) }
        guard case .object(let fields)? = value else { return nil }
        var number: SensitiveBytes?
        var text: [String: String] = [:]
        for (key, item) in fields {
            guard Self.columns.contains(key) || Self.exportColumns.contains(key) else { return nil }
            switch item {
            case .sensitive(let bytes): number = bytes
            case .string(let s) where key != "number": text[key] = s
            case .int(let n) where key == "exp_month" || key == "exp_year": text[key] = String(n)
            case .null: break
            default: return nil
            }
        }
        return CardImportRow(
            line: row, number: number, expMonth: text["exp_month"], expYear: text["exp_year"], holder: text["holder"],
            reference: text["reference"] ?? text["token"])
    }

    private func csvRow(_ row: Int) -> CardImportRow? {
        guard let columns = csvColumns, var fields = Self.fields(line), fields.count == columns.count else { return nil }
        defer { for i in fields.indices { wipe(&fields[i]) } }
        var text: [String: String] = [:]
        var number: SensitiveBytes?
        for (name, value) in zip(columns, fields) where !value.isEmpty {
            if name == "number" { number = SensitiveBytes(copying: value) } else { text[name] = String(decoding: value, as: UTF8.self) }
        }
        return CardImportRow(
            line: row, number: number, expMonth: text["exp_month"], expYear: text["exp_year"], holder: text["holder"], reference: text["reference"])
    }

    static func header(_ line: [UInt8]) throws(VaultError) -> [String] {
        let names = (fields(line) ?? []).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased() }
        guard Set(names).count == names.count, names.allSatisfy(columns.contains), ["number", "exp_month", "exp_year", "reference"].allSatisfy(names.contains)
        else {
            throw VaultError.malformed("header", "a CSV card file starts with a header naming number, exp_month, exp_year, reference and optionally holder")
        }
        return names
    }

    /// The fields of one CSV record (RFC 4180: commas, fields in double quotes may hold commas
    /// and doubled quotes); nil when a quote is left open.
    static func fields(_ line: [UInt8]) -> [[UInt8]]? {
        var fields: [[UInt8]] = []
        var field: [UInt8] = []
        var quoted = false
        var i = 0
        while i < line.count {
            let byte = line[i]
            if quoted {
                if byte == 0x22 {
                    if i + 1 < line.count && line[i + 1] == 0x22 {
                        field.append(0x22)
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(byte)
                }
            } else if byte == 0x22 && field.isEmpty {
                quoted = true
            } else if byte == 0x2C {
                fields.append(field)
                field = []
            } else {
                field.append(byte)
            }
            i += 1
        }
        if quoted { return nil }
        fields.append(field)
        return fields
    }
}
