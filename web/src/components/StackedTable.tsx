import { Table, type TableProps, type TableTdProps } from "@mantine/core";
import classes from "./StackedTable.module.css";

/** A table that, on a narrow screen, shows one card per row with every column labelled
 * (StackedTable.module.css): nothing hides off to the right. */
export function StackedTable({ className, ...props }: TableProps) {
  return <Table {...props} className={className ? `${classes.table} ${className}` : classes.table} />;
}

interface CellProps extends TableTdProps {
  /** The column's name, shown next to the value when the row is a card. */
  label: string;
}

export function StackedCell({ label, children, ...props }: CellProps) {
  return (
    <Table.Td {...props} data-label={label}>
      <span className={classes.label}>{label}</span>
      <div>{children}</div>
    </Table.Td>
  );
}
